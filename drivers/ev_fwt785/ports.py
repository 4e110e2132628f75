"""Find attached boxes with `serial.tools.list_ports`."""

from __future__ import annotations

from serial.tools import list_ports as _lp

from .info import PortInfo

# USB-serial bridges and 4G modules a box is likely built on (VID → maker).
KNOWN_VIDS = {
    0x2C7C: "Quectel",
    0x1E0E: "SIMCom",
    0x1A86: "WCH CH34x",
    0x10C4: "Silicon Labs CP210x",
    0x0403: "FTDI",
    0x067B: "Prolific",
    0x19D2: "ZTE",
    0x12D1: "Huawei",
}


def list_ports(all_ports: bool = False) -> list[PortInfo]:
    """Serial ports, likely boxes first; `all_ports` keeps ports with no USB VID too."""
    out = []
    for p in _lp.comports():
        likely = p.vid in KNOWN_VIDS
        if not all_ports and p.vid is None:
            continue
        out.append(PortInfo(p.device, p.description or "", p.hwid or "", p.vid, p.pid, likely))
    out.sort(key=lambda i: (not i.likely_box, i.device))
    return out
