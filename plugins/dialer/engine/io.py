"""What goes into the engine (inputs: driver events and user commands) and what comes out (actions)."""

from __future__ import annotations

import msgspec


class Input(msgspec.Struct, tag_field="type", tag=True, kw_only=True, frozen=True):
    at: float


class Answered(Input, frozen=True):
    attempt: str


class Ended(Input, frozen=True):
    attempt: str
    answered: bool
    cause: str  # the driver's EndCause
    q850: int | None = None
    talk_s: float = 0.0


class TakeOver(Input, frozen=True):
    line: str


class AgentReady(Input, frozen=True):
    pass


class AgentAway(Input, frozen=True):
    pass


class SimHealth(Input, frozen=True):
    box: str
    slot: int
    ready: bool = True
    registered: bool = True
    signal: int | None = None


class LineUp(Input, frozen=True):
    box: str


class LineDown(Input, frozen=True):
    box: str


class AddDnc(Input, frozen=True):
    e164: str


class Pause(Input, frozen=True):
    pass


class Resume(Input, frozen=True):
    pass


class Stop(Input, frozen=True):
    pass


class ResetSim(Input, frozen=True):
    key: str


AnyInput = (Answered | Ended | TakeOver | AgentReady | AgentAway | SimHealth | LineUp | LineDown | AddDnc
            | Pause | Resume | Stop | ResetSim)


class Action(msgspec.Struct, tag_field="type", tag=True, kw_only=True, frozen=True):
    pass


class Dial(Action, frozen=True):
    attempt: str
    line: str
    number: str
    e164: str
    box: str
    slot: int


class PlayPrompt(Action, frozen=True):
    attempt: str
    line: str


class Connect(Action, frozen=True):
    """Stop the prompt and put the salesperson on the call."""

    attempt: str
    line: str


class Hangup(Action, frozen=True):
    attempt: str
    line: str
    reason: str  # ring_timeout | abandoned | max_duration | talk_limit | stopped


class Alert(Action, frozen=True):
    code: str  # sim_blocked | sim_locked | sims_exhausted | abandon_cap
    message: str
    sim: str | None = None


class Wait(Action, frozen=True):
    until: float
    reason: str


class Finished(Action, frozen=True):
    reason: str


AnyAction = Dial | PlayPrompt | Connect | Hangup | Alert | Wait | Finished
