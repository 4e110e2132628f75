"""Plain data returned by the driver's query methods (msgspec Structs)."""

from __future__ import annotations

import msgspec

REG_STATUS = {
    0: "not_registered",
    1: "home",
    2: "searching",
    3: "denied",
    4: "unknown",
    5: "roaming",
}


def csq_to_dbm(rssi: int) -> int | None:
    """27.007 +CSQ <rssi>: 0 → −113 dBm, 1 → −111, 2…30 → −109…−53, 31 → −51; 99 unknown."""
    if rssi == 99 or rssi < 0:
        return None
    if 100 <= rssi <= 191:  # Quectel TD-SCDMA extension
        return -216 + rssi
    return -113 + 2 * min(rssi, 31)


def csq_to_bars(rssi: int) -> int:
    """0–5 bars the way handset/LCD displays usually bucket CSQ."""
    if rssi == 99 or rssi < 2:
        return 0
    if rssi >= 100:
        rssi = min(31, max(0, (rssi - 100) // 3))
    for bars, floor in ((5, 25), (4, 20), (3, 15), (2, 10)):
        if rssi >= floor:
            return bars
    return 1


def is_registered(stat: int | None) -> bool:
    return stat in (1, 5)


class Identity(msgspec.Struct, frozen=True):
    manufacturer: str
    model: str
    firmware: str
    imei: str


class Signal(msgspec.Struct, frozen=True):
    rssi: int
    ber: int
    dbm: int | None
    bars: int

    @classmethod
    def from_csq(cls, rssi: int, ber: int = 99) -> Signal:
        return cls(rssi=rssi, ber=ber, dbm=csq_to_dbm(rssi), bars=csq_to_bars(rssi))


class Registration(msgspec.Struct, frozen=True):
    """Registration per domain: CS (+CREG), EPS (+CEREG), IMS/VoLTE (+CIREG). None = not reported."""

    cs: int | None
    eps: int | None
    ims: int | None

    @property
    def registered(self) -> bool:
        """Voice-capable: CS registered, or EPS registered with IMS (VoLTE)."""
        return is_registered(self.cs) or (is_registered(self.eps) and self.ims in (None, 1))


class Operator(msgspec.Struct, frozen=True):
    name: str | None
    plmn: str | None
    act: int | None


class SlotStatus(msgspec.Struct, frozen=True):
    slot: int
    present: bool
    sim_state: str  # READY / SIM PIN / NOT INSERTED / NOT READY / …
    iccid: str | None = None
    imsi: str | None = None
    operator: Operator | None = None
    registration: Registration | None = None
    signal: Signal | None = None


class PortInfo(msgspec.Struct, frozen=True):
    device: str
    description: str
    hwid: str
    vid: int | None
    pid: int | None
    likely_box: bool
