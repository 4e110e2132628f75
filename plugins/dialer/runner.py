"""The runner: feeds one campaign's driver events into the engine and executes its actions on boxes.

    runner = CampaignRunner(campaign_id, {"box1": box}, clock=sim.clock.now)
    await runner.run()   # until the campaign is done or stopped (or the task is cancelled)

State is saved before every dial and after every result, so a killed runner started again resumes
where it was: finished numbers are never redialed; a call whose result was lost is stored as
`interrupted` and retried under the campaign's retry rule.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from core.customers.phones import display, national_digits
from drivers.ev_fwt785 import Box, BoxError, CallError, NotSupported, SlotError
from drivers.ev_fwt785 import events as ev
from drivers.ev_fwt785.info import csq_to_dbm
from plugins.dialer import files, recording_store, store
from plugins.dialer.engine import EngineState, step
from plugins.dialer.engine import io as i
from plugins.dialer.engine.calendar import local
from plugins.dialer.live import HUB, Hub
from plugins.dialer.sink import DbSink, Sink

log = structlog.get_logger("dialer.runner")
Item = ev.AnyEvent | i.AnyInput | None


class LineCall(msgspec.Struct, kw_only=True):
    key: str  # engine attempt key
    alert_at: float | None = None
    recording: bool = False


# The engine's reasons for waiting that a user should read: (中文, English).
WAITING = {
    "window": ("不在外呼时段", "outside calling hours"),
    "sims_limited": ("SIM 卡均已达到限额或不可用", "every SIM is at a limit or unusable"),
    "user_day_limit": ("今日外呼已达上限", "today's call cap is reached"),
    "waiting_retry": ("剩余号码在等待重拨间隔或每个号码的呼叫上限",
                      "the remaining numbers wait for a retry or a per-number cap"),
}
RETRY_WAIT_SAID_S = 60.0  # a shorter wait for a retry is ordinary pacing, not worth a status change


class CampaignRunner:
    def __init__(self, campaign_id: int, boxes: dict[str, Box], *, clock: Callable[[], float] = time.time,
                 hub: Hub = HUB, tick: float = 0.25, sink: Sink | None = None) -> None:
        self.campaign_id = campaign_id
        self.sink: Sink = sink or DbSink()
        self.boxes = boxes
        self.clock = clock
        self.hub = hub
        self.tick = tick
        self.state: EngineState | None = None
        self.calls: dict[str, LineCall] = {}  # box → its call in progress
        self.prompt: str | None = None
        self.owner: int | None = None
        self.department: int | None = None
        self.device_ids: dict[str, int] = {}
        self.followup_min_s = 10.0
        self.wake_at = math.inf
        self.waiting = False
        self.decisions = 0
        self.activity = 0  # decisions that did something (tests wait for it to settle)
        self.finished = False
        self.reason = ""
        self._synced: set[str] = set()
        self._last_frame: dict[str, Any] = {}
        self._last_pub = 0.0
        self._send: MemoryObjectSendStream[Item]
        self._recv: MemoryObjectReceiveStream[Item]
        self._send, self._recv = anyio.create_memory_object_stream[Item](math.inf)
        self._tasks: anyio.abc.TaskGroup | None = None
        self._offloading = 0  # recordings being moved to the recording store in the background
        self._offloaded = anyio.Event()

    # ------------------------------------------------------------ public

    def send(self, inp: i.AnyInput | None) -> None:
        """A command from the console (TakeOver, Pause, Resume, Stop, AddDnc…) or None to re-decide now."""
        self._send.send_nowait(inp)

    @property
    def pending(self) -> int:
        return self._recv.statistics().current_buffer_used

    async def run(self) -> None:
        setup = await self.sink.setup(self.campaign_id, self.clock())
        if isinstance(self.sink, DbSink):
            from plugins.dialer.settings import current

            self.followup_min_s = (await current()).followup_min_s
        self.owner, self.department = setup.owner, setup.department
        self.device_ids = {s.device: s.device_id for s in setup.slots if s.device_id is not None}
        prompt_path = self.sink.prompt_path(setup)
        state = await self.sink.load_state(self.campaign_id)
        inputs: list[i.AnyInput] = []
        if state is None:
            state = store.state_from_setup(setup, self.clock(), set(self.boxes))
        else:
            store.carry_usage(state, setup, self.clock())  # the SIMs may have dialed for others meanwhile
            inputs += await self._recover(state)
        self.state = state
        if state.status == "paused" and setup.status == "running":
            inputs.append(i.Resume(at=self.clock()))
        await self.sink.set_status(self.campaign_id, "running")
        async with anyio.create_task_group() as tg:
            self._tasks = tg
            for name, box in self.boxes.items():
                inputs += await self._prepare(box, prompt_path)
                tg.start_soon(self._pump, box)
                if name in state.lines and not box.connected:
                    inputs.append(i.LineDown(at=self.clock(), box=name))
            try:
                await self._loop(state, inputs)
                await self._offloads_settled()
            finally:
                tg.cancel_scope.cancel()

    # ------------------------------------------------------------ setup

    async def _prepare(self, box: Box, prompt_path: Path | None) -> list[i.AnyInput]:
        """Hang up what a killed process left, load the prompt, and read the active SIM's signal (the box
        reports it again only when it changes)."""
        try:
            if box.call is None:
                await box.ch.command("ATH", check=False)  # a call left over from a killed process
            if prompt_path is not None and await anyio.Path(prompt_path).exists():
                self.prompt = await box.upload_prompt(prompt_path)
            slot, signal = await box.active_slot(), await box.signal()
        except (BoxError, IndexError, ValueError) as exc:
            log.warning("box_prepare_failed", box=box.name, error=str(exc))
            return []
        return [self._health(box.name, slot, signal=signal.rssi)] if slot else []

    async def _recover(self, state: EngineState) -> list[i.AnyInput]:
        """Results for calls in flight when the previous process died (stored, or `interrupted`)."""
        out: list[i.AnyInput] = []
        now = self.clock()
        for key in list(state.attempts):
            res = await self.sink.mark_interrupted(store.attempt_key(self.campaign_id, key), now)
            cause = res.cause if res is not None else "interrupted"
            out.append(i.Ended(at=now, attempt=key, answered=bool(res and res.answered), cause=cause,
                               q850=res.q850 if res else None, talk_s=res.talk_s if res else 0.0))
        for line in state.lines.values():
            if line.status == "down":
                line.status = "idle"
        return out

    async def _pump(self, box: Box) -> None:
        async for e in box.subscribe():
            self._send.send_nowait(e)

    # ------------------------------------------------------------ loop

    async def _loop(self, state: EngineState, inputs: list[i.AnyInput]) -> None:
        while True:
            actions = step(state, self.clock(), inputs)
            self.decisions += 1
            if inputs or any(not isinstance(a, i.Wait) for a in actions):
                self.activity += 1
            inputs = []
            if any(isinstance(a, i.Dial) for a in actions):
                await self.sink.save_state(self.campaign_id, state)  # write-ahead: the dial is counted first
            for a in actions:
                inputs += await self._execute(state, a)
            await self.sink.save_state(self.campaign_id, state)
            await self._numbers_sync(state)
            self._publish(state, actions)
            if any(isinstance(a, i.Finished) for a in actions) and not inputs:
                await self.sink.set_status(self.campaign_id, state.status)
                self.finished = True  # only once the outcome is stored: whoever waits on it reads it back
                return
            if inputs:
                continue
            waits = [a.until for a in actions if isinstance(a, i.Wait)]
            self.wake_at = min(waits) if waits else math.inf
            reason = next((a.reason for a in actions if isinstance(a, i.Wait)), "")
            await self._status_reason(state, reason)
            item = await self._next_item()
            while item is not None or self.pending:
                inputs += await self._translate(state, item)
                if not self.pending:
                    break
                item = self._recv.receive_nowait()

    async def _next_item(self) -> Item:
        self.waiting = True
        try:
            with anyio.move_on_after(self.tick):
                return await self._recv.receive()
            return None
        finally:
            self.waiting = False

    async def _status_reason(self, state: EngineState, reason: str) -> None:
        text = self._waiting_text(state.config.tz, reason)
        if text != self.reason:
            self.reason = text
            status = "paused" if reason == "paused" else ("waiting" if text else "running")
            await self.sink.set_status(self.campaign_id, status, text)

    def _waiting_text(self, tz: str, reason: str) -> str:
        """Why nothing is dialed and until when, for 外呼管理 and the console ("" while it simply works)."""
        if reason == "paused":
            return "已暂停 / paused"
        what = WAITING.get(reason)
        if what is None or (reason == "waiting_retry" and self.wake_at - self.clock() < RETRY_WAIT_SAID_S):
            return ""
        if not math.isfinite(self.wake_at):
            return f"{what[0]}，等待中 / {what[1]}, waiting"
        at = local(self.wake_at, tz)
        return f"{what[0]}，{at:%m月%d日 %H:%M} 起继续外呼 / {what[1]}, calling again from {at:%Y-%m-%d %H:%M}"

    # ------------------------------------------------------------ driver events → engine inputs

    async def _translate(self, state: EngineState, item: Item) -> list[i.AnyInput]:
        if item is None:
            return []
        if isinstance(item, i.Input):
            return [item]  # type: ignore[list-item]
        e = item
        line = self.calls.get(e.box)
        if isinstance(e, ev.CallAlerting) and line is not None:
            line.alert_at = e.at
        elif isinstance(e, ev.CallAnswered) and line is not None:
            return [i.Answered(at=e.at, attempt=line.key)]
        elif isinstance(e, ev.CallEnded) and line is not None:
            return await self._ended(state, e)
        elif isinstance(e, ev.SignalChanged):
            return [self._health(e.box, e.slot, signal=e.rssi)]
        elif isinstance(e, ev.SimRemoved):
            return [self._health(e.box, e.slot, ready=False)]
        elif isinstance(e, ev.SimInserted):
            return [self._health(e.box, e.slot, ready=True)]
        elif isinstance(e, ev.RegistrationLost | ev.RegistrationRegained):
            slot = self.boxes[e.box]._active_slot or 0
            return [self._health(e.box, slot, registered=isinstance(e, ev.RegistrationRegained))]
        elif isinstance(e, ev.BoxDisconnected):
            return [i.LineDown(at=e.at, box=e.box)]
        elif isinstance(e, ev.BoxReconnected):
            return [i.LineUp(at=e.at, box=e.box)]
        return []

    def _health(self, box: str, slot: int, *, ready: bool | None = None, registered: bool | None = None,
                signal: int | None = None) -> i.SimHealth:
        assert self.state is not None
        sim = self.state.sims.get(f"{box}:{slot}")
        return i.SimHealth(at=self.clock(), box=box, slot=slot,
                           ready=sim.ready if ready is None and sim else bool(ready if ready is not None else True),
                           registered=sim.registered if registered is None and sim else bool(
                               registered if registered is not None else True),
                           signal=signal if signal is not None else (sim.signal if sim else None))

    async def _ended(self, state: EngineState, e: ev.CallEnded) -> list[i.AnyInput]:
        line = self.calls.pop(e.box)
        att = state.attempts.get(line.key)
        taken = att.taken_over_at if att else None
        rec_file, rec_size = await self._save_recording(e.box, line)
        effective = taken is not None and e.end_at - taken >= state.config.effective_s
        listened = ((taken or e.end_at) - e.answer_at) if e.answer_at is not None else 0.0
        res = store.CallResult(
            key=store.attempt_key(self.campaign_id, line.key), answered=e.answered, cause=e.cause, q850=e.q850,
            hangup_by=e.hangup_by, alert_at=line.alert_at, answer_at=e.answer_at, end_at=e.end_at, ring_s=e.ring_s,
            talk_s=e.talk_s, total_s=e.total_s, listened_s=max(0.0, listened), taken_over_at=taken,
            abandoned=bool(att and att.abandon), effective=effective, recording_file=rec_file,
            recording_size=rec_size)
        stored = await self.sink.call_finished(res, files.calls_dir() / rec_file if rec_file else None,
                                               self.followup_min_s)
        if rec_file and stored and isinstance(self.sink, DbSink):
            self._offload_later(res.key, rec_file)
        return [i.Ended(at=e.end_at, attempt=line.key, answered=e.answered, cause=e.cause, q850=e.q850,
                        talk_s=e.talk_s)]

    async def _save_recording(self, box_name: str, line: LineCall) -> tuple[str, int]:
        if not line.recording:
            return "", 0
        name = secrets.token_hex(16) + ".wav"
        dest = files.calls_dir() / name
        await anyio.Path(dest.parent).mkdir(parents=True, exist_ok=True)
        try:
            await self.boxes[box_name].stop_recording(dest)
        except BoxError as exc:
            log.warning("recording_lost", box=box_name, error=str(exc))
            return "", 0
        return name, (await anyio.Path(dest).stat()).st_size

    def _offload_later(self, key: str, name: str) -> None:
        """Move the recording to the configured store (S3) without holding up the dial loop. A runner killed
        meanwhile leaves it on the local disk, where the call row still says it is: nothing is lost."""
        if self._tasks is None:
            return
        self._offloading += 1
        self._offloaded = anyio.Event()
        self._tasks.start_soon(self._offload, key, name)

    async def _offload(self, key: str, name: str) -> None:
        try:
            await recording_store.offload_key(key, name)
        except Exception as exc:  # the recording stays local; never take the campaign down
            log.warning("recording_offload_failed", key=key, error=type(exc).__name__)
        finally:
            self._offloading -= 1
            if not self._offloading:
                self._offloaded.set()

    async def _offloads_settled(self) -> None:
        if self._offloading:
            await self._offloaded.wait()

    # ------------------------------------------------------------ actions

    async def _execute(self, state: EngineState, a: i.AnyAction) -> list[i.AnyInput]:
        if isinstance(a, i.Dial):
            return await self._dial(state, a)
        box = self.boxes.get(getattr(a, "line", ""))
        try:
            if isinstance(a, i.PlayPrompt) and box is not None:
                line = self.calls.get(a.line)
                try:
                    await box.start_recording()
                    if line is not None:
                        line.recording = True
                except NotSupported:
                    pass
                if self.prompt is not None:
                    await box.play_prompt(self.prompt)
            elif isinstance(a, i.Connect) and box is not None:
                await box.stop_prompt()
            elif isinstance(a, i.Hangup) and box is not None:
                await box.hangup()
            elif isinstance(a, i.Alert):
                await self._alert(a)
        except (CallError, BoxError) as exc:
            log.info("action_failed", action=type(a).__name__, error=str(exc))
        return []

    async def _dial(self, state: EngineState, a: i.Dial) -> list[i.AnyInput]:
        box = self.boxes.get(a.box)
        key = store.attempt_key(self.campaign_id, a.attempt)
        info = store.DialInfo(key=key, campaign_id=self.campaign_id, number_id=int(a.number), e164=a.e164,
                              dial_at=self.clock(), device_id=self.device_ids.get(a.box), device_name=a.box,
                              slot=a.slot, user_id=self.owner, department_id=self.department)
        await self.sink.call_started(info)
        if box is None:
            return await self._failed(a, key, "box_disconnected", [i.LineDown(at=self.clock(), box=a.box)])
        self.calls[a.box] = LineCall(key=a.attempt)
        try:
            await box.dial(national_digits(a.e164), slot=a.slot)
        except SlotError as exc:
            self.calls.pop(a.box, None)
            log.info("slot_unusable", box=a.box, slot=a.slot, error=str(exc))
            return await self._failed(a, key, "network_failure", [self._health(a.box, a.slot, ready=False)])
        except (CallError, BoxError) as exc:
            self.calls.pop(a.box, None)
            log.info("dial_failed", box=a.box, error=str(exc))
            extra: list[i.AnyInput] = [] if box.connected else [i.LineDown(at=self.clock(), box=a.box)]
            return await self._failed(a, key, "box_disconnected" if not box.connected else "failed", extra)
        return []

    async def _failed(self, a: i.Dial, key: str, cause: str, extra: list[i.AnyInput]) -> list[i.AnyInput]:
        now = self.clock()
        await self.sink.call_finished(store.CallResult(key=key, answered=False, cause=cause, end_at=now))
        return [*extra, i.Ended(at=now, attempt=a.attempt, answered=False, cause=cause)]

    async def _alert(self, a: i.Alert) -> None:
        log.warning("dialer_alert", code=a.code, message=a.message, sim=a.sim)
        self.hub.publish(self.owner, {"alert": a.code, "message": a.message, "sim": a.sim,
                                      "campaign": self.campaign_id, "kind": "alert"})
        if a.code == "sim_blocked" and a.sim:
            box, slot = a.sim.rsplit(":", 1)
            await self.sink.block_sim(self.device_ids.get(box), box, int(slot), a.message)

    # ------------------------------------------------------------ persistence of numbers, live frames

    async def _numbers_sync(self, state: EngineState) -> None:
        changed = [n for n in state.numbers.values() if n.status not in ("pending", "dialing")
                   and n.id not in self._synced]
        for n in changed:
            await self.sink.update_number(int(n.id), n.status, n.result, n.attempts)
            self._synced.add(n.id)

    def frame(self, state: EngineState) -> dict[str, Any]:
        now = self.clock()
        lines = []
        for ln in state.lines.values():
            n = state.numbers.get(ln.number or "")
            lines.append({"box": ln.box, "status": ln.status, "number": display(n.e164) if n else "",
                          "since": ln.dial_at, "answer_at": ln.answer_at,
                          "listened": round(now - ln.answer_at, 1) if ln.answer_at else None, "sim": ln.sim,
                          "slot": state.sims[ln.sim].slot if ln.sim in state.sims else None})
        sims = [{"key": s.key, "box": s.box, "slot": s.slot,
                 "day_calls": s.day_calls, "max_day": s.limits.max_calls_per_day,
                 "hour_calls": len(s.hour_dials), "max_hour": s.limits.max_calls_per_hour,
                 "connected": s.day_connected, "max_connected": s.limits.max_connected_per_day,
                 "talk_min": round(s.day_talk_s / 60, 1), "max_talk_min": s.limits.max_talk_minutes_per_day,
                 "month_talk_min": round(s.month_talk_s / 60, 1),
                 "max_month_talk_min": s.limits.max_talk_minutes_per_month,
                 "signal": s.signal, "dbm": csq_to_dbm(s.signal) if s.signal is not None else None,
                 "blocked": s.blocked, "locked": s.locked_manual or bool(s.locked_until and s.locked_until > now),
                 "reason": s.lock_reason} for s in state.sims.values()]
        upcoming = [display(state.numbers[n].e164) for n in state.queue if state.numbers[n].status == "pending"][:5]
        t = state.totals
        waiting = state.status == "running" and self.reason  # outside the windows, every SIM at a limit…
        return {"kind": "campaign", "campaign": self.campaign_id, "status": "waiting" if waiting else state.status,
                "reason": self.reason,
                "now": now, "lines": lines, "agent": state.agent.status, "sims": sims, "next": upcoming,
                "totals": {"dials": t.dials, "answered": t.answered, "abandoned": t.abandoned,
                           "effective": t.effective}}

    def _publish(self, state: EngineState, actions: list[i.AnyAction]) -> None:
        """Push a frame when something changed, else once a second (the timers on the page move on)."""
        frame = self.frame(state)
        now = frame.pop("now")
        if frame == self._last_frame and now - self._last_pub < 1.0:
            return
        self._last_frame, self._last_pub = dict(frame), now
        self.hub.publish(self.owner, {**frame, "now": now})
