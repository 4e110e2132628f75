"""Timestamped box events (msgspec tagged union; `type` is the class name).

Every event carries the box name, a per-box sequence number (gap-free, so a consumer can prove
nothing was lost or duplicated across a reconnect) and `at`, the driver clock's time.
"""

from __future__ import annotations

from typing import Literal

import msgspec

EndCause = Literal[
    "normal",
    "busy",
    "no_answer",
    "rejected",
    "unreachable",
    "network_failure",
    "box_disconnected",
    "unknown",
]
HangupBy = Literal["local", "remote", "network", "box"]
Confidence = Literal["high", "low"]
Domain = Literal["cs", "eps", "ims"]


class Event(msgspec.Struct, tag_field="type", tag=True, kw_only=True, frozen=True):
    box: str
    seq: int
    at: float


class CallDialing(Event, frozen=True):
    call_id: int
    slot: int
    number: str


class CallAlerting(Event, frozen=True):
    call_id: int


class CallAnswered(Event, frozen=True):
    call_id: int
    confidence: Confidence
    reason: str


class CallEnded(Event, frozen=True):
    call_id: int
    slot: int
    number: str
    cause: EndCause
    hangup_by: HangupBy
    q850: int | None
    answered: bool
    dial_at: float
    alert_at: float | None
    answer_at: float | None
    end_at: float
    ring_s: float
    talk_s: float
    total_s: float
    modem_duration_s: float | None


class DtmfReceived(Event, frozen=True):
    call_id: int
    digit: str


class PromptFinished(Event, frozen=True):
    call_id: int | None
    prompt: str
    reason: Literal["completed", "stopped", "call_ended", "polled"]


class SmsReceived(Event, frozen=True):
    sender: str
    text: str
    sent_at: str | None
    parts: int


class SignalChanged(Event, frozen=True):
    slot: int
    rssi: int
    dbm: int | None
    bars: int


class SimRemoved(Event, frozen=True):
    slot: int


class SimInserted(Event, frozen=True):
    slot: int


class RegistrationLost(Event, frozen=True):
    domain: Domain
    stat: int


class RegistrationRegained(Event, frozen=True):
    domain: Domain
    stat: int


class BoxDisconnected(Event, frozen=True):
    reason: str


class BoxReconnected(Event, frozen=True):
    attempts: int


class ModuleRebooted(Event, frozen=True):
    pass


class ProtocolWarning(Event, frozen=True):
    """Something odd the channel recovered from: garbage, echo, timeout, stray final code."""

    kind: Literal["garbage", "echo", "timeout", "stray", "retry"]
    detail: str


AnyEvent = (
    CallDialing
    | CallAlerting
    | CallAnswered
    | CallEnded
    | DtmfReceived
    | PromptFinished
    | SmsReceived
    | SignalChanged
    | SimRemoved
    | SimInserted
    | RegistrationLost
    | RegistrationRegained
    | BoxDisconnected
    | BoxReconnected
    | ModuleRebooted
    | ProtocolWarning
)

event_decoder = msgspec.json.Decoder(AnyEvent)
