"""The simulated EV-FWT 785: a box model, virtual clock, scripted callees, faults, and transports
(`sim://` pyserial handler, pty, TCP)."""

from __future__ import annotations

from .callees import Callee, CalleeBook, RandomCallees
from .cards import CarrierLimits, SimCard, default_cards
from .clock import RealtimeTicker, VirtualClock
from .faults import Faults
from .model import CallRecord, SentSms, SimBox
from .registry import BOXES, get_or_create, register, reset
from .servers import PtyServer, TcpServer

__all__ = [
    "BOXES",
    "CallRecord",
    "Callee",
    "CalleeBook",
    "CarrierLimits",
    "Faults",
    "PtyServer",
    "RandomCallees",
    "RealtimeTicker",
    "SentSms",
    "SimBox",
    "SimCard",
    "TcpServer",
    "VirtualClock",
    "default_cards",
    "get_or_create",
    "register",
    "reset",
]
