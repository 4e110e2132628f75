"""Texts through the boxes the dialer holds: the published `box_sms_send` / `box_sims`, and received texts
handed to the SMS module's `sms_received`.

A box has one owner, the dialer: in this process (`Runtime.boxes`) or on a salesperson's PC (the agent).
Sending goes through the same `Box` the campaigns dial on; its AT channel serialises commands, and a text
never switches the SIM under a running campaign or a call (only the active slot texts then).

Exactly once: every request carries an id. The agent writes the answer of each id it sent to its disk
(`SentLog`) and answers a repeated id from there; the server remembers answers it got and which agent an
unanswered id went to, so a retry goes to that agent again and never to another box. An answer that comes
after the server stopped waiting (the link dropped) arrives through the agent's outbox and is kept for
the retry.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio
import msgspec
import structlog

from drivers.ev_fwt785 import Box, BoxError
from drivers.ev_fwt785.errors import CallError, CommandError, InvalidArgument, SlotError
from drivers.ev_fwt785.events import SmsReceived
from plugins.dialer.agent_protocol import SmsAnswer, SmsIn, SmsRequest

log = structlog.get_logger("dialer.box_sms")

AGENT_WAIT_S = 30.0  # how long the server waits for an agent's answer before a retryable "timeout"
MAX_PARTS = 255  # concatenation's own limit; the SMS module enforces its own, smaller, one
KEEP = 20000  # answers remembered (agent disk log and server memory)
NO_BOX = "没有可发短信的外呼设备：请启动电话助手或连接设备 / no box to text through: start the agent or attach a box"
FINAL_CODES = ("unknown", "invalid")  # kept with the ok answers: never sent (again) for the same id


def _no_box(device: str | None) -> SmsAnswer:
    if device:
        return SmsAnswer(ok=False, device=device, code="offline", retryable=True,
                         error=f"设备 {device} 未连接 / box {device} is not connected")
    return SmsAnswer(ok=False, code="offline", retryable=True, error=NO_BOX)


def as_dict(answer: SmsAnswer) -> dict[str, Any]:
    return msgspec.to_builtins(answer)


# ------------------------------------------------------------------ one text on one box (server or agent)


async def send_on_box(box: Box, *, busy: bool, to: str, text: str, slot: int | None) -> SmsAnswer:
    """Send on `slot` (None: the active one). A busy box (campaign, call) only texts on its active slot."""
    name = box.name
    if not box.connected:
        return _no_box(name)
    want = slot or box._active_slot
    if want is not None and want != box._active_slot:
        if busy or box.call is not None:
            return SmsAnswer(ok=False, device=name, slot=want, code="busy", retryable=True,
                             error=f"设备 {name} 正在外呼，不切换到卡槽 {want} / box {name} is dialing: "
                                   f"not switching to slot {want}")
        try:
            await box.select_slot(want)
        except (SlotError, CallError) as exc:
            return SmsAnswer(ok=False, device=name, slot=want, code="slot", retryable=True,
                             error=f"卡槽 {want} 不可用：{exc} / slot {want} unusable: {exc}")
        except BoxError as exc:
            return SmsAnswer(ok=False, device=name, slot=want, code="offline", retryable=True,
                             error=f"设备 {name} 出错：{exc} / box error: {exc}")
    # No slot switch (a campaign's next dial on another SIM) between the check and the text: the
    # driver's own slot lock is held while the text goes out, so the SIM counted is the SIM used.
    async with box._slot_lock:
        used = box._active_slot
        if want is not None and used != want:
            return SmsAnswer(ok=False, device=name, slot=want, code="busy", retryable=True,
                             error=f"设备 {name} 已切换卡槽 / box {name} switched SIM meanwhile")
        try:
            refs = await box.send_sms(to, text, max_parts=MAX_PARTS)
        except InvalidArgument as exc:
            return SmsAnswer(ok=False, device=name, slot=used, code="invalid",
                             error=f"号码或内容无法发送：{exc} / cannot send: {exc}")
        except CommandError as exc:  # the module refused the text: nothing went out
            return SmsAnswer(ok=False, device=name, slot=used, code="refused", retryable=True,
                             error=f"设备拒绝发送：{exc} / the box refused: {exc}")
        except BoxError as exc:  # cut off mid-send: it may have gone out
            return SmsAnswer(ok=False, device=name, slot=used, code="unknown",
                             error=f"发送中断（可能已发出），为避免重复不自动重发 / interrupted ({exc}); "
                                   "it may have gone out, so it is not resent automatically")
    return SmsAnswer(ok=True, device=name, slot=used, parts=len(refs), refs=refs)


def _pick(boxes: dict[str, Box], busy: set[str], device: str | None) -> Box | None:
    if device is not None:
        return boxes.get(device)
    ready = [b for b in boxes.values() if b.connected]
    return next((b for b in ready if b.name not in busy and b.call is None), ready[0] if ready else None)


class SentLog:
    """Request id → answer of every text sent (or possibly sent), on disk when `path` is given.

    A repeated request is answered from here; one still going out is not started a second time.
    """

    _dec = msgspec.json.Decoder(dict[str, SmsAnswer])

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.answers: collections.OrderedDict[str, SmsAnswer] = collections.OrderedDict()
        self.inflight: set[str] = set()
        if path is not None and path.exists():
            self.answers.update(self._dec.decode(path.read_bytes()))

    def get(self, request_id: str) -> SmsAnswer | None:
        return self.answers.get(request_id)

    def put(self, request_id: str, answer: SmsAnswer) -> None:
        self.answers[request_id] = answer
        while len(self.answers) > KEEP:
            self.answers.popitem(last=False)
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(msgspec.json.encode(self.answers))
            tmp.replace(self.path)

    async def send(self, boxes: dict[str, Box], busy: set[str], req: SmsRequest) -> SmsAnswer | None:
        """The answer for `req`: stored, or sent now. None while the same id is still going out."""
        stored = self.get(req.request_id)
        if stored is not None:
            return stored
        if req.request_id in self.inflight:
            return None
        box = _pick(boxes, busy, req.device)
        if box is None:
            return _no_box(req.device)
        self.inflight.add(req.request_id)
        try:
            answer = await send_on_box(box, busy=box.name in busy, to=req.to, text=req.text, slot=req.slot)
            if answer.ok or answer.code in FINAL_CODES:
                self.put(req.request_id, answer)
        finally:
            self.inflight.discard(req.request_id)
        return answer


# ------------------------------------------------------------------ the server: box_sms_send / box_sims


class _Server:
    def __init__(self) -> None:
        self.log = SentLog()  # answers by request id: sent here, or reported by an agent
        self.sent_to: dict[str, tuple[int | None, str]] = {}  # unanswered id → (agent owner, device)
        self.waiters: dict[str, anyio.Event] = {}
        self.replies: dict[str, SmsAnswer] = {}  # a refusal (nothing sent) for the waiter to read
        self.active: dict[str, int] = {}  # an agent's box → the slot its last text went out on

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


SERVER = _Server()


async def send(to: str, text: str, device: str | None, slot: int | None, request_id: str) -> SmsAnswer:
    from plugins.dialer import runtime
    from plugins.dialer.agent_server import HUB

    stored = SERVER.log.get(request_id)
    if stored is not None:
        return stored
    req = SmsRequest(request_id=request_id, to=to, text=text, device=device, slot=slot)
    routed = SERVER.sent_to.get(request_id)
    if routed is not None:  # asked before and not answered: only that box may send it
        req = msgspec.structs.replace(req, device=routed[1])
        return await _ask_agent(req, routed[0])
    rt = runtime.current()
    if rt is not None and rt.boxes and (device is None or device in rt.boxes):
        answer = await SERVER.log.send(rt.boxes, rt.busy_boxes(), req)
        if answer is None:
            return SmsAnswer(ok=False, device=device or "", code="pending", retryable=True,
                             error="这条短信正在发送 / this text is being sent")
        return answer
    for link in HUB.links.values():
        if (device is None and link.devices) or device in link.devices:
            return await _ask_agent(msgspec.structs.replace(req, device=device or link.devices[0]),
                                    link.actor.user_id)
    return _no_box(device)


async def _ask_agent(req: SmsRequest, owner: int | None) -> SmsAnswer:
    from plugins.dialer.agent_protocol import Command
    from plugins.dialer.agent_server import HUB

    assert req.device is not None
    link = next((lk for lk in HUB.links.values()
                 if req.device in lk.devices and (owner is None or lk.actor.user_id == owner)), None)
    if link is None:
        return SmsAnswer(ok=False, device=req.device, code="pending" if req.request_id in SERVER.sent_to
                         else "offline", retryable=True,
                         error=f"电话助手未连接，等待设备 {req.device} 的发送结果 / the agent of box {req.device} "
                               "is not connected; waiting for its answer")
    SERVER.sent_to[req.request_id] = (link.actor.user_id, req.device)
    event = SERVER.waiters.setdefault(req.request_id, anyio.Event())
    with anyio.move_on_after(AGENT_WAIT_S):
        try:
            await link.send(Command(op="sms", arg=msgspec.json.encode(req).decode()))
        except Exception as exc:  # the link just died: the agent may or may not have it
            log.info("sms_command_not_sent", request=req.request_id, error=str(exc))
        else:
            await event.wait()
    answer = SERVER.log.get(req.request_id) or SERVER.replies.pop(req.request_id, None)
    if answer is not None:
        return answer
    if SERVER.waiters.get(req.request_id) is event:
        del SERVER.waiters[req.request_id]  # a late final answer is kept all the same (`answered`)
    return SmsAnswer(ok=False, device=req.device, code="timeout", retryable=True,
                     error=f"电话助手 {AGENT_WAIT_S:g} 秒内未回复发送结果，稍后重试（不会重复发送） / "
                           f"the agent did not answer within {AGENT_WAIT_S:g} s; retried later (never sent twice)")


class Refused(Exception):
    """An agent reported a text outside its reach (another user's request, a box it did not announce)."""


def check_answer(detail: dict[str, Any], user_id: int | None, devices: list[str]) -> SmsAnswer:
    """An uploaded `sms_result`, if it answers a request this server sent to that user's box."""
    try:
        answer = msgspec.convert(detail.get("answer"), SmsAnswer)
    except msgspec.ValidationError as exc:
        raise Refused(f"sms answer: {exc}") from exc
    routed = SERVER.sent_to.get(str(detail.get("request_id", "")))
    if routed is None or routed[0] != user_id or routed[1] not in devices or answer.device != routed[1]:
        raise Refused(f"sms answer {detail.get('request_id')!r}")
    return answer


def answered(request_id: str, answer: SmsAnswer) -> None:
    """An agent's answer arrived (in time, or after a dropped link): keep it for the waiter or the retry."""
    final = answer.ok or answer.code in FINAL_CODES
    if final:
        SERVER.log.put(request_id, answer)
    if answer.ok and answer.slot is not None:
        SERVER.active[answer.device] = answer.slot
    SERVER.sent_to.pop(request_id, None)  # answered: a final answer is kept; a refusal lets any box retry
    event = SERVER.waiters.pop(request_id, None)
    if event is not None:
        if not final:
            SERVER.replies[request_id] = answer
        event.set()


async def _slot_rows(names: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    from plugins.dialer.tables import Device, DeviceSlot

    names = list(names)
    if not names:
        return {}
    devices = {r["id"]: r["name"] for r in await Device.select(Device.id, Device.name).where(
        Device.name.is_in(names) & (Device.enabled == True))}  # noqa: E712
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in devices.values()}
    if devices:
        for r in await DeviceSlot.select().where(DeviceSlot.device.is_in(list(devices))).order_by(DeviceSlot.slot):
            out[devices[r["device"]]].append(r)
    return out


def devices() -> list[dict[str, Any]]:
    from plugins.dialer import runtime
    from plugins.dialer.agent_server import HUB

    rt = runtime.current()
    local = rt.boxes if rt is not None else {}
    out = [{"device": name, "where": "server", "online": box.connected} for name, box in local.items()]
    return out + [{"device": name, "where": "agent", "online": True} for link in HUB.links.values()
                  for name in link.devices if name not in local]


async def sims() -> list[dict[str, Any]]:
    from plugins.dialer import runtime
    from plugins.dialer.agent_server import HUB

    out: list[dict[str, Any]] = []
    rt = runtime.current()
    local = dict(rt.boxes) if rt is not None else {}
    rows = await _slot_rows([*local, *(n for lk in HUB.links.values() for n in lk.devices)])
    busy = rt.busy_boxes() if rt is not None else set()

    def usable(name: str, count: int) -> list[dict[str, Any]]:
        if name not in rows:  # no Device row (yet): every slot, nothing known about it
            return [{"slot": k, "carrier": "", "caller_number": ""} for k in range(1, count + 1)]
        return [r for r in rows[name] if r["enabled"] and not r["blocked"]]

    for name, box in local.items():
        active = box._active_slot
        registered = any(box._reg.get(d) in (1, 5) for d in ("cs", "eps"))
        for r in usable(name, box.dialect.slot_count):
            on = r["slot"] == active
            out.append({"device": name, "slot": r["slot"], "where": "server", "online": box.connected,
                        "active": on, "ready": box._sim_ready if on else None, "registered": registered if on
                        else None, "busy": name in busy or box.call is not None, "carrier": r["carrier"],
                        "number": r["caller_number"]})
    for link in HUB.links.values():
        for name in link.devices:
            if name in local:
                continue
            for r in usable(name, 5):
                known = SERVER.active.get(name)
                out.append({"device": name, "slot": r["slot"], "where": "agent", "online": True,
                            "active": None if known is None else r["slot"] == known, "ready": None,
                            "registered": None, "busy": None, "carrier": r["carrier"], "number": r["caller_number"]})
    return out


# ------------------------------------------------------------------ received texts → the SMS module


async def deliver_received(sms: SmsIn, source: str) -> bool:
    """Hand a received text to the SMS module's `sms_received` (idempotent per source, sender, text, time)."""
    from core import host
    from core.plugins import call_published

    got = await call_published(host.current().pm, "sms_received", sender=sms.sender, text=sms.text, source=source,
                               received_at=sms.at)
    if got is None:
        log.info("sms_received_dropped", box=sms.device, reason="the SMS module is not installed or licensed")
    return got is not None


async def forward_received(box: Box) -> None:
    """In the server: every text this box receives goes to the SMS inbox."""
    events = box.subscribe()
    async with events:
        async for event in events:
            if isinstance(event, SmsReceived):
                try:
                    await deliver_received(SmsIn(device=box.name, sender=event.sender, text=event.text,
                                                 at=event.at or time.time(), parts=event.parts), box.name)
                except Exception as exc:  # the inbox must not take the box down
                    log.exception("sms_received_failed", box=box.name, error=str(exc))


__all__ = ["AGENT_WAIT_S", "SERVER", "SentLog", "answered", "as_dict", "check_answer", "deliver_received",
           "devices", "forward_received", "send", "send_on_box", "sims"]
