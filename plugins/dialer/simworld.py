"""A discrete-event world for the engine alone: seeded callees, a salesperson, virtual time.

Used by `bench/dialer.py` and the property tests. It checks every dial against the limits itself
(independently of the engine) and counts violations.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from dataclasses import dataclass, field

from plugins.dialer.engine import calendar
from plugins.dialer.engine import io as i
from plugins.dialer.engine.core import step
from plugins.dialer.engine.state import EngineState


@dataclass(frozen=True)
class CalleeModel:
    answer: float = 0.35
    ring: tuple[float, float] = (4.0, 20.0)
    busy_share_of_unanswered: float = 0.15
    hang_up_in_prompt: float = 0.5
    listen_through: float = 0.3  # the rest (0.2) speak early
    speak_early: tuple[float, float] = (2.0, 8.0)
    talk_mean_s: float = 120.0


@dataclass
class Stats:
    dial_times: dict[str, list[float]] = field(default_factory=dict)  # sim → dial times
    callee_times: dict[str, list[float]] = field(default_factory=dict)
    connected: dict[str, int] = field(default_factory=dict)
    agent_busy_s: float = 0.0
    violations: list[str] = field(default_factory=list)
    decisions: int = 0
    decision_ns: int = 0
    dials: int = 0
    results: dict[str, int] = field(default_factory=dict)
    ended_keys: list[str] = field(default_factory=list)


class World:
    def __init__(self, state: EngineState, model: CalleeModel, seed: int = 0, *,
                 duplicate_results: float = 0.0, dnc_rate: float = 0.0) -> None:
        self.st = state
        self.model = model
        self.rng = random.Random(seed)
        self.queue: list[tuple[float, int, i.AnyInput]] = []
        self.seq = itertools.count()
        self.calls: dict[str, dict[str, float | str | bool]] = {}
        self.stats = Stats()
        self.duplicate_results = duplicate_results
        self.dnc_rate = dnc_rate
        self.dnc_at: dict[str, float] = {}

    def push(self, at: float, inp: i.AnyInput) -> None:
        heapq.heappush(self.queue, (at, next(self.seq), inp))

    def run(self, start: float, end: float) -> None:
        now = start
        inputs: list[i.AnyInput] = []
        while now < end:
            t0 = time.perf_counter_ns()
            actions = step(self.st, now, inputs)
            self.stats.decision_ns += time.perf_counter_ns() - t0
            self.stats.decisions += 1
            inputs = []
            wake = end
            for a in actions:
                wake = min(wake, self._act(a, now))
            if any(isinstance(a, i.Finished) for a in actions) and not self.queue:
                break
            nxt = self.queue[0][0] if self.queue else end
            now = max(now, min(nxt, wake, end))
            while self.queue and self.queue[0][0] <= now:
                inputs.append(heapq.heappop(self.queue)[2])
            if not inputs and wake <= now and not any(isinstance(a, i.Dial | i.Connect | i.PlayPrompt | i.Hangup)
                                                      for a in actions):
                now = min(end, now + 1.0)

    # ------------------------------------------------------------ actions

    def _act(self, a: i.AnyAction, now: float) -> float:
        m = self.model
        if isinstance(a, i.Wait):
            return a.until
        if isinstance(a, i.Dial):
            self._check_dial(a, now)
            if self.dnc_rate and self.rng.random() < self.dnc_rate:
                other = self.rng.choice(list(self.st.numbers.values())).e164
                self.dnc_at.setdefault(other, now)
                self.push(now + 0.5, i.AddDnc(at=now + 0.5, e164=other))
            call: dict[str, float | str | bool] = {"line": a.line, "answered": False, "connected": False}
            self.calls[a.attempt] = call
            if self.rng.random() < m.answer:
                t = now + self.rng.uniform(*m.ring)
                self.push(t, i.Answered(at=t, attempt=a.attempt))
                r = self.rng.random()
                if r < m.hang_up_in_prompt:
                    call["plan"] = "hangup"
                    call["hangup_at"] = t + self.rng.uniform(1.0, self.st.config.prompt_s)
                    self.push(float(call["hangup_at"]), i.Ended(at=float(call["hangup_at"]), attempt=a.attempt,
                                                                 answered=True, cause="normal",
                                                                 talk_s=float(call["hangup_at"]) - t))
                elif r < m.hang_up_in_prompt + m.listen_through:
                    call["plan"] = "listen"
                else:
                    call["plan"] = "speak"
                    ts = t + self.rng.uniform(*m.speak_early)
                    self.push(ts, i.TakeOver(at=ts, line=a.line))
                call["answer_at"] = t
            elif self.rng.random() < m.busy_share_of_unanswered:
                t = now + self.rng.uniform(1.0, 4.0)
                self.push(t, i.Ended(at=t, attempt=a.attempt, answered=False, cause="busy"))
            return now
        if isinstance(a, i.Connect):
            call = self.calls[a.attempt]
            if call.get("ended"):
                return now
            call["connected"] = True
            wrap = self.st.config.wrapup_s
            if call.get("plan") == "hangup":
                self.stats.agent_busy_s += max(0.0, float(call["hangup_at"]) - now) + wrap
                return now  # already leaving; the hang-up event stands
            talk = self.rng.expovariate(1.0 / m.talk_mean_s)
            t = now + talk
            self.stats.agent_busy_s += talk + wrap
            self._end(a.attempt, t, True, float(call["answer_at"]))
            return now
        if isinstance(a, i.Hangup):
            call = self.calls[a.attempt]
            if not call.get("ended"):
                answered = "answer_at" in call and float(call["answer_at"]) <= now
                self._end(a.attempt, now, answered, float(call.get("answer_at", now)))
            return now
        return now

    def _end(self, key: str, t: float, answered: bool, answer_at: float) -> None:
        call = self.calls[key]
        call["ended"] = True
        ev = i.Ended(at=t, attempt=key, answered=answered, cause="normal" if answered else "no_answer",
                     talk_s=max(0.0, t - answer_at) if answered else 0.0)
        # a remote hang-up scheduled earlier is superseded: drop it
        self.queue = [q for q in self.queue if not (isinstance(q[2], i.Ended | i.Answered) and
                                                     getattr(q[2], "attempt", None) == key and q[0] > t)]
        heapq.heapify(self.queue)
        self.push(t, ev)
        if self.duplicate_results and self.rng.random() < self.duplicate_results:
            self.push(t + 1.0, ev)

    # ------------------------------------------------------------ independent limit checks

    def _check_dial(self, a: i.Dial, now: float) -> None:
        st, cfg = self.st, self.st.config
        self.stats.dials += 1
        key = f"{a.box}:{a.slot}"
        lim = st.sims[key].limits
        times = self.stats.dial_times.setdefault(key, [])
        if times and now - times[-1] < lim.min_gap_s - 1e-9:
            self.stats.violations.append(f"{key} gap")
        if lim.max_calls_per_hour is not None and sum(1 for t in times if t > now - 3600) >= lim.max_calls_per_hour:
            self.stats.violations.append(f"{key} hour")
        today = calendar.day_key(now, cfg.tz)
        day_n = sum(1 for t in times if calendar.day_key(t, cfg.tz) == today)
        if lim.max_calls_per_day is not None and day_n >= lim.max_calls_per_day:
            self.stats.violations.append(f"{key} day")
        times.append(now)
        ok, _ = calendar.may_start_call(now, cfg)
        if not ok:
            self.stats.violations.append(f"window {now}")
        ct = self.stats.callee_times.setdefault(a.e164, [])
        if sum(1 for t in ct if t > now - 86400) >= cfg.callee_max_per_24h:
            self.stats.violations.append(f"callee24h {a.e164}")
        if sum(1 for t in ct if calendar.day_key(t, cfg.tz) == today) >= cfg.callee_max_per_day:
            self.stats.violations.append(f"callee_day {a.e164}")
        ct.append(now)
        if a.e164 in self.dnc_at and self.dnc_at[a.e164] + 0.5 <= now:
            self.stats.violations.append(f"dnc {a.e164}")
