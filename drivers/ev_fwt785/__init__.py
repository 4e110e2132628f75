"""EV-FWT 785 phone-box driver and simulated box. Knows nothing of the CRM.

Importing this package registers the `sim://` pyserial URL handler.
"""

from __future__ import annotations

import serial

from . import events
from .box import Backoff, Box, Call, Timeouts
from .dialects import AnswerHeuristic, get_dialect
from .errors import (
    BoxDisconnectedError,
    BoxError,
    BoxNotResponding,
    CallError,
    CommandError,
    CommandTimeout,
    InvalidArgument,
    NotSupported,
    PortOpenError,
    PromptError,
    SlotError,
)
from .info import Identity, Operator, PortInfo, Registration, Signal, SlotStatus
from .ports import list_ports

_SIM_PACKAGE = "drivers.ev_fwt785.simulator"
if _SIM_PACKAGE not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append(_SIM_PACKAGE)

__all__ = [
    "AnswerHeuristic",
    "Backoff",
    "Box",
    "BoxDisconnectedError",
    "BoxError",
    "BoxNotResponding",
    "Call",
    "CallError",
    "CommandError",
    "CommandTimeout",
    "Identity",
    "InvalidArgument",
    "NotSupported",
    "Operator",
    "PortInfo",
    "PortOpenError",
    "PromptError",
    "Registration",
    "Signal",
    "SlotError",
    "SlotStatus",
    "Timeouts",
    "events",
    "get_dialect",
    "list_ports",
]
