"""The engine's whole state: plain msgspec Structs, so a snapshot is one JSON document."""

from __future__ import annotations

from typing import Literal

import msgspec

from plugins.dialer.engine.config import CampaignConfig, SimLimits

NumberStatus = Literal["pending", "dialing", "done", "dnc", "exhausted"]
LineStatus = Literal["down", "idle", "dialing", "answered", "prompt", "talking"]
AgentStatus = Literal["free", "talking", "wrapup", "away"]
RunStatus = Literal["running", "paused", "stopped", "done"]


class NumberState(msgspec.Struct, kw_only=True):
    id: str
    e164: str
    status: NumberStatus = "pending"
    attempts: int = 0
    next_at: float = 0.0
    result: str = ""


class SimState(msgspec.Struct, kw_only=True):
    key: str  # "box:slot"
    box: str
    slot: int
    limits: SimLimits = msgspec.field(default_factory=SimLimits)
    enabled: bool = True
    ready: bool = True
    registered: bool = True
    signal: int | None = None
    day: int = 0
    month: int = 0
    hour_dials: list[float] = msgspec.field(default_factory=list)  # dial times within the last hour
    day_calls: int = 0
    day_connected: int = 0
    day_talk_s: float = 0.0
    month_talk_s: float = 0.0
    last_dial_at: float | None = None
    consecutive_fail: int = 0
    consecutive_no_answer: int = 0
    consecutive_short: int = 0
    consecutive_barred: int = 0
    locked_until: float | None = None
    locked_manual: bool = False
    lock_reason: str = ""
    blocked: bool = False


class LineState(msgspec.Struct, kw_only=True):
    box: str
    status: LineStatus = "idle"
    attempt: str | None = None
    number: str | None = None
    sim: str | None = None
    dial_at: float = 0.0
    answer_at: float | None = None
    ready_at: float = 0.0
    sticky_sim: str | None = None


class Attempt(msgspec.Struct, kw_only=True):
    key: str
    number: str
    e164: str
    line: str
    sim: str
    dial_at: float
    answer_at: float | None = None
    taken_over_at: float | None = None
    abandon: bool = False


class AgentState(msgspec.Struct, kw_only=True):
    status: AgentStatus = "free"
    line: str | None = None
    since: float = 0.0
    until: float = 0.0


class Totals(msgspec.Struct, kw_only=True):
    dials: int = 0
    answered: int = 0
    abandoned: int = 0
    effective: int = 0
    talk_s: float = 0.0
    results: dict[str, int] = msgspec.field(default_factory=dict)


class EngineState(msgspec.Struct, kw_only=True):
    config: CampaignConfig = msgspec.field(default_factory=CampaignConfig)
    status: RunStatus = "running"
    numbers: dict[str, NumberState] = msgspec.field(default_factory=dict)
    queue: list[str] = msgspec.field(default_factory=list)  # number ids still to finish, in order
    sims: dict[str, SimState] = msgspec.field(default_factory=dict)
    lines: dict[str, LineState] = msgspec.field(default_factory=dict)
    agent: AgentState = msgspec.field(default_factory=AgentState)
    attempts: dict[str, Attempt] = msgspec.field(default_factory=dict)  # in flight
    done: dict[str, str] = msgspec.field(default_factory=dict)  # attempt key → outcome (idempotency)
    callee_dials: dict[str, list[float]] = msgspec.field(default_factory=dict)  # e164 → dial times (24 h)
    dnc: set[str] = msgspec.field(default_factory=set)
    totals: Totals = msgspec.field(default_factory=Totals)
    user_day: int = 0
    user_day_calls: int = 0
    seq: int = 0
    alerts_sent: set[str] = msgspec.field(default_factory=set)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(EngineState)


def dump(state: EngineState) -> bytes:
    return _encoder.encode(state)


def load(data: bytes | str) -> EngineState:
    return _decoder.decode(data)
