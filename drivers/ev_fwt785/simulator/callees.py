"""Who answers the phone in the simulated network: scripted callees and a seeded random model."""

from __future__ import annotations

import fnmatch
import random
import re
from typing import Literal

import msgspec

Outcome = Literal["answer", "busy", "no_answer", "reject", "unreachable"]


class Callee(msgspec.Struct, frozen=True, kw_only=True):
    """A scripted callee. Times are virtual seconds.

    `ring_after`: dial → far end alerting (or → BUSY / unreachable release).
    `answer_after`: dial → answered (outcome "answer") or → rejected (outcome "reject").
    `hangup_after`: answered → callee hangs up (None: stays until we hang up).
    `speak_at`: seconds after answer when the callee talks for `speak_s` (audible in recordings).
    `dtmf`: (seconds after answer, digit) pairs the callee presses.
    `ring_timeout`: alerting → network gives up with NO ANSWER (outcome "no_answer").
    """

    outcome: Outcome = "answer"
    ring_after: float = 2.0
    answer_after: float = 6.0
    hangup_after: float | None = None
    speak_at: tuple[float, ...] = (0.5,)
    speak_s: float = 1.5
    dtmf: tuple[tuple[float, str], ...] = ()
    ring_timeout: float = 60.0

    @classmethod
    def answers(cls, after: float = 6.0, *, hangup_after: float | None = None, **kw: object) -> Callee:
        return cls(outcome="answer", answer_after=after, hangup_after=hangup_after, **kw)  # type: ignore[arg-type]

    @classmethod
    def listens(cls, after: float, seconds: float) -> Callee:
        """Answers after `after` s, listens `seconds` s, then hangs up."""
        return cls(outcome="answer", answer_after=after, hangup_after=seconds)

    @classmethod
    def busy(cls, after: float = 1.0) -> Callee:
        return cls(outcome="busy", ring_after=after)

    @classmethod
    def no_answer(cls, ring_timeout: float = 60.0) -> Callee:
        return cls(outcome="no_answer", ring_timeout=ring_timeout)

    @classmethod
    def rejects(cls, after: float = 5.0) -> Callee:
        return cls(outcome="reject", answer_after=after)

    @classmethod
    def unreachable(cls, after: float = 3.0) -> Callee:
        return cls(outcome="unreachable", ring_after=after)

    @classmethod
    def presses(
        cls, digit: str, at: float, *, after: float = 3.0, hangup_after: float | None = None
    ) -> Callee:
        return cls(outcome="answer", answer_after=after, dtmf=((at, digit),), hangup_after=hangup_after)


DEFAULT_WEIGHTS = {"answer": 0.45, "no_answer": 0.25, "busy": 0.1, "reject": 0.1, "unreachable": 0.1}


class RandomCallees:
    """A seeded population: outcome weights and answer/talk time ranges. Same seed, same draws."""

    def __init__(
        self,
        seed: int = 0,
        weights: dict[str, float] | None = None,
        answer_range: tuple[float, float] = (3.0, 20.0),
        talk_range: tuple[float, float] = (5.0, 120.0),
    ) -> None:
        self.weights = weights or dict(DEFAULT_WEIGHTS)
        self.answer_range = answer_range
        self.talk_range = talk_range
        self._rng = random.Random(seed)

    def draw(self) -> Callee:
        rng = self._rng
        outcome = rng.choices(list(self.weights), weights=list(self.weights.values()))[0]
        after = round(rng.uniform(*self.answer_range), 1)
        talk = round(rng.uniform(*self.talk_range), 1)
        return Callee(
            outcome=outcome,  # type: ignore[arg-type]
            ring_after=round(rng.uniform(1.0, 3.0), 1),
            answer_after=max(after, 3.5),
            hangup_after=talk,
            ring_timeout=45.0,
        )


class CalleeBook:
    """Exact numbers first, then glob (`138*`) or regex (`re:^1[35]`) patterns in insertion order,
    then the random model if any, then the default."""

    def __init__(self, default: Callee | None = None, random_model: RandomCallees | None = None) -> None:
        self.default = default or Callee()
        self.random_model = random_model
        self._exact: dict[str, Callee] = {}
        self._patterns: list[tuple[str, Callee]] = []

    def add(self, pattern: str, callee: Callee) -> None:
        if pattern.startswith("re:") or any(c in pattern for c in "*?["):
            self._patterns.append((pattern, callee))
        else:
            self._exact[pattern] = callee

    def lookup(self, number: str) -> Callee:
        if number in self._exact:
            return self._exact[number]
        for pattern, callee in self._patterns:
            if pattern.startswith("re:"):
                if re.search(pattern[3:], number):
                    return callee
            elif fnmatch.fnmatchcase(number, pattern):
                return callee
        if self.random_model is not None:
            return self.random_model.draw()
        return self.default
