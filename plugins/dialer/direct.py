"""号码直拨: one call from the web dial pad on a chosen box and slot, with an optional prompt (去电放音)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import structlog

from core.customers.phones import national_digits
from drivers.ev_fwt785 import BoxError, CallError, NotSupported
from drivers.ev_fwt785 import events as ev
from plugins.dialer import files, recording_store, store
from plugins.dialer.errors import DialerConflict, DialerInputError
from plugins.dialer.followups import followup_for_call
from plugins.dialer.live import HUB
from plugins.dialer.tables import Call

if TYPE_CHECKING:
    from plugins.dialer.runtime import Runtime

log = structlog.get_logger("dialer.direct")


class DirectDialer:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.busy: set[str] = set()
        self.keys: dict[str, str] = {}  # box → attempt key of its direct call

    async def dial(self, *, user_id: int | None, department_id: int | None, e164: str, box_name: str,
                   device_id: int | None, slot: int | None, prompt: Path | None, call_type: str,
                   customer_id: int | None, contact_id: int | None) -> str:
        box = self.runtime.boxes.get(box_name)
        if box is None or not box.connected:
            raise DialerInputError("设备未连接", f"box {box_name} is not attached")
        if box_name in self.runtime.busy_boxes():
            raise DialerConflict("设备正忙（外呼任务或通话中）", f"box {box_name} is busy")
        tg = self.runtime._tg
        if tg is None:
            raise DialerConflict("外呼服务未运行", "the dialer runtime is not running")
        key = f"d:{secrets.token_hex(8)}"
        chosen = slot or box._active_slot or 1
        await store.call_started(store.DialInfo(
            key=key, campaign_id=None, number_id=None, e164=e164, dial_at=self.runtime.clock(), device_id=device_id,
            device_name=box_name, slot=chosen, user_id=user_id, department_id=department_id, kind="direct",
            call_type=call_type))
        if customer_id is not None:
            from plugins.dialer.tables import Call as C

            await C.update({C.customer: customer_id, C.contact: contact_id}).where(C.attempt_key == key)
        self.busy.add(box_name)
        self.keys[box_name] = key
        started = anyio.Event()
        tg.start_soon(self._call, key, box_name, e164, chosen, prompt, user_id, started)
        await started.wait()
        return key

    async def _call(self, key: str, box_name: str, e164: str, slot: int, prompt: Path | None,
                    user_id: int | None, started: anyio.Event) -> None:
        box = self.runtime.boxes[box_name]
        events = box.subscribe()
        alert_at: float | None = None
        recording = False
        try:
            prompt_name = await box.upload_prompt(prompt) if prompt is not None else None
            try:
                call = await box.dial(national_digits(e164), slot=slot)
            finally:
                started.set()
            async for e in events:
                if getattr(e, "call_id", None) != call.id:
                    continue
                HUB.publish(user_id, {"kind": "direct", "key": key, "event": type(e).__name__, "at": e.at})
                if isinstance(e, ev.CallAlerting):
                    alert_at = e.at
                elif isinstance(e, ev.CallAnswered):
                    try:
                        await box.start_recording()
                        recording = True
                    except (NotSupported, BoxError):
                        pass
                    if prompt_name is not None:
                        try:
                            await box.play_prompt(prompt_name)
                        except (CallError, BoxError):
                            pass
                elif isinstance(e, ev.CallEnded):
                    await self._finish(key, box_name, e, alert_at, recording)
                    return
        except (CallError, BoxError) as exc:
            started.set()
            log.info("direct_dial_failed", box=box_name, error=str(exc))
            await store.call_finished(store.CallResult(key=key, answered=False, cause="failed",
                                                       end_at=self.runtime.clock()))
        finally:
            events.close()
            self.busy.discard(box_name)
            self.keys.pop(box_name, None)

    async def _finish(self, key: str, box_name: str, e: ev.CallEnded, alert_at: float | None,
                      recording: bool) -> None:
        rec_file, size = "", 0
        if recording:
            rec_file = secrets.token_hex(16) + ".wav"
            dest = files.calls_dir() / rec_file
            await anyio.Path(dest.parent).mkdir(parents=True, exist_ok=True)
            try:
                await self.runtime.boxes[box_name].stop_recording(dest)
                size = (await anyio.Path(dest).stat()).st_size
            except BoxError:
                rec_file = ""
        stored = await store.call_finished(store.CallResult(
            key=key, answered=e.answered, cause=e.cause, q850=e.q850, hangup_by=e.hangup_by, alert_at=alert_at,
            answer_at=e.answer_at, end_at=e.end_at, ring_s=e.ring_s, talk_s=e.talk_s, total_s=e.total_s,
            taken_over_at=e.answer_at, effective=e.talk_s >= 30, recording_file=rec_file, recording_size=size))
        row = await Call.select(Call.id).where(Call.attempt_key == key).first()
        if row and e.answered:
            await followup_for_call(row["id"])
        if row and rec_file and stored:
            # to S3 when configured, in the background (the box is free at once); S3 failing leaves it local
            tg = self.runtime._tg
            if tg is not None:
                tg.start_soon(recording_store.offload_safely, row["id"], rec_file)
            else:
                await recording_store.offload_safely(row["id"], rec_file)

    async def hangup(self, box_name: str) -> bool:
        box = self.runtime.boxes.get(box_name)
        if box is None or box_name not in self.busy:
            return False
        await box.hangup()
        return True
