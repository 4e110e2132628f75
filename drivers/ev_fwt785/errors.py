"""Driver exceptions and the 27.007 / 27.005 error-code tables shared by driver and simulator."""

from __future__ import annotations

CME_ERRORS: dict[int, str] = {
    0: "phone failure",
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    30: "no network service",
    31: "network timeout",
    32: "network not allowed - emergency calls only",
    100: "unknown",
    405: "file not found",
    515: "Please wait, init or command processing in progress.",
    903: "not in a call",
}
CME_BY_TEXT: dict[str, int] = {text.lower(): code for code, text in CME_ERRORS.items()}

CMS_ERRORS: dict[int, str] = {
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "SIM not inserted",
    321: "invalid memory index",
    330: "SMSC address unknown",
    500: "unknown error",
}
CMS_BY_TEXT: dict[str, int] = {text.lower(): code for code, text in CMS_ERRORS.items()}

TRANSIENT_CME = frozenset({14, 515})


def parse_error_code(final: str) -> int | None:
    """`+CME ERROR: 14` or `+CME ERROR: SIM busy` (CMEE=2) -> 14; plain ERROR -> None."""
    for prefix, table in (("+CME ERROR:", CME_BY_TEXT), ("+CMS ERROR:", CMS_BY_TEXT)):
        if final.startswith(prefix):
            rest = final[len(prefix) :].strip()
            if rest.isdigit():
                return int(rest)
            return table.get(rest.lower())
    return None


class BoxError(Exception):
    """Base class of every error the driver raises."""


class BoxNotResponding(BoxError):
    """The port opened but nothing intelligible answers `AT` (wrong baud rate, wrong port)."""


class BoxDisconnectedError(BoxError):
    """The serial port went away (USB unplugged) or is not connected right now."""


class PortOpenError(BoxError):
    """Unknown URL scheme, missing device, or permission denied."""


class CommandTimeout(BoxError):
    """No final result code arrived in time."""

    def __init__(self, command: str, timeout: float) -> None:
        super().__init__(f"{command!r}: no final result code within {timeout:g} s")
        self.command = command
        self.timeout = timeout


class CommandError(BoxError):
    """The modem answered with ERROR / +CME ERROR / +CMS ERROR / NO CARRIER …"""

    def __init__(self, command: str, final: str) -> None:
        super().__init__(f"{command!r} failed: {final}")
        self.command = command
        self.final = final
        self.code = parse_error_code(final)


class InvalidArgument(BoxError, ValueError):
    """Bad input from the caller: slot out of range, number not dialable, SMS too long, …"""


class SlotError(BoxError):
    """The slot is empty, its SIM is not ready, or it did not register in time."""


class CallError(BoxError):
    """A call operation that needs (or must not have) a call in progress."""


class PromptError(BoxError):
    """The prompt file is not one the box can play."""


class NotSupported(BoxError):
    """The dialect (firmware) cannot do this, e.g. module-side recording on SIMCom."""
