"""The server's side of the agent link: `/api/v1/dialer/agent/ws` (results up, commands down), the
campaign setup an agent downloads, and the idempotent ingest of what agents upload."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio
import msgspec
import structlog
from litestar import Request, WebSocket, get, websocket
from litestar.exceptions import NotFoundException, PermissionDeniedException, WebSocketDisconnect
from litestar.params import FromPath

from core.auth import tokens
from core.auth.actors import load_actor
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import get_in_scope
from core.web.responses import actor_of
from plugins.dialer import box_sms, campaigns, files, recording_store, store
from plugins.dialer.agent_protocol import Ack, Batch, Command, Item, SimsCommand, SimSettings, SmsIn, decode, encode
from plugins.dialer.followups import followup_for_call
from plugins.dialer.tables import AgentLink as AgentLinkRow
from plugins.dialer.tables import Call, Campaign, CampaignNumber, Device, DeviceSlot

log = structlog.get_logger("dialer.agent_server")


class Hello(msgspec.Struct, kw_only=True, frozen=True):
    agent: str
    devices: list[str]


class SetupOut(msgspec.Struct, kw_only=True):
    setup: store.Setup
    prompt: str = ""  # base64 WAV


class AgentLink:
    def __init__(self, name: str, actor: Actor, devices: list[str], socket: WebSocket) -> None:
        self.name, self.actor, self.devices, self.socket = name, actor, devices, socket

    async def send(self, cmd: Command) -> None:
        await self.socket.send_bytes(encode(cmd))


class AgentHub:
    def __init__(self) -> None:
        self.links: dict[str, AgentLink] = {}

    def for_devices(self, names: set[str]) -> AgentLink | None:
        for link in self.links.values():
            if names and names <= set(link.devices):
                return link
        return None

    async def command(self, campaign_id: int, op: str, arg: str = "") -> bool:
        names = await campaign_devices(campaign_id)
        link = self.for_devices(names) if names else next(iter(self.links.values()), None)
        if link is None:
            return False
        try:
            await link.send(Command(op=op, campaign=campaign_id, arg=arg))
        except Exception:  # the link just died; the agent gets the state on reconnect
            return False
        return True

    async def push_sims(self, device: str, settings: list[SimSettings], *, reset: str = "") -> int:
        """Agents holding this box carry its new slot settings into their running campaigns (外呼设备);
        `reset` names a SIM unlocked by hand. Returns how many agents were told."""
        arg = msgspec.json.encode(SimsCommand(slots=settings, reset=reset)).decode()
        told = 0
        for link in list(self.links.values()):
            if device in link.devices:
                try:
                    await link.send(Command(op="sims", arg=arg))
                    told += 1
                except Exception:  # the link just died; the agent re-reads settings at its next start
                    pass
        return told

    async def broadcast(self, op: str, arg: str = "") -> None:
        for link in list(self.links.values()):
            try:
                await link.send(Command(op=op, arg=arg))
            except Exception:
                pass


HUB = AgentHub()


async def campaign_devices(campaign_id: int) -> set[str]:
    row = await Campaign.select(Campaign.devices).where(Campaign.id == campaign_id).first()
    specs = store._json(row["devices"]) if row else []
    ids = [s["device"] for s in specs or []]
    if not ids:
        return set()
    return {r["name"] for r in await Device.select(Device.name).where(Device.id.is_in(ids))}


async def register_devices(agent: str, names: list[str], actor: Actor) -> None:
    async with write_tx():
        for name in names:
            if await Device.exists().where(Device.name == name):
                continue
            dev = (await Device.insert(Device(name=name, url=f"agent://{agent}/{name}", dialect="auto",
                                              owner=actor.user_id, department=actor.department_id,
                                              created_at=dt.datetime.now(dt.UTC))).returning(Device.id))[0]["id"]
            for k in range(1, 6):
                await DeviceSlot.insert(DeviceSlot(device=dev, slot=k, limits={}))


CHUNK = 50  # uploaded messages applied per transaction (SQLite: the write lock is held this long)


class Refused(Exception):
    """An uploaded message names a campaign, number, call or box outside the agent owner's reach."""


async def _campaign_in_reach(actor: Actor, campaign_id: int | None, reach: dict[int, bool]) -> None:
    """`reach` remembers the answer per campaign for one batch (a batch names the same few campaigns)."""
    if campaign_id is None:
        return
    if campaign_id not in reach:
        try:
            await get_in_scope(actor, "dialer:run", Campaign, campaign_id, owner=Campaign.owner,
                               department=Campaign.department)
            reach[campaign_id] = True
        except (NotFoundException, PermissionDeniedException):
            reach[campaign_id] = False
    if not reach[campaign_id]:
        raise Refused(f"campaign {campaign_id}")


async def _authorise(item: Item, actor: Actor, devices: list[str], reach: dict[int, bool]) -> dict[str, Any]:
    """The detail of an uploaded message, checked against what the agent's owner may touch.

    An agent acts for the user whose token it holds: its records are that user's, in campaigns that
    user may run, on the boxes this agent announced. Anything else is refused (logged, acknowledged,
    not applied) so a forged or stale upload never lands in someone else's records.
    """
    d = dict(item.msg.detail)
    kind = d.get("kind")
    if kind == "started":
        info = dict(d["info"])
        cid = info.get("campaign_id")
        await _campaign_in_reach(actor, cid, reach)
        if cid is not None and not str(info.get("key", "")).startswith(store.attempt_key(cid, "")):
            raise Refused("attempt key of another campaign")
        if info.get("number_id") is not None and not await CampaignNumber.exists().where(
                (CampaignNumber.id == info["number_id"]) & (CampaignNumber.campaign == cid)):
            raise Refused(f"number {info['number_id']}")
        info["user_id"], info["department_id"] = actor.user_id, actor.department_id
        d["info"] = info
    elif kind == "finished":
        row = await Call.select(Call.user).where(Call.attempt_key == d["result"]["key"]).first()
        if row is not None and row["user"] != actor.user_id:
            raise Refused("call of another user")
    elif kind == "number":
        n = await CampaignNumber.select(CampaignNumber.campaign).where(CampaignNumber.id == d["id"]).first()
        if n is None:
            raise Refused(f"number {d['id']}")
        await _campaign_in_reach(actor, n["campaign"], reach)
    elif kind == "status":
        await _campaign_in_reach(actor, item.msg.campaign, reach)
    elif kind == "block" and d.get("device") not in devices:
        raise Refused(f"box {d.get('device')}")
    elif kind == "sms_in" and d.get("device") not in devices:  # only texts received on its own boxes
        raise Refused(f"box {d.get('device')}")
    elif kind == "sms_result":  # only answers to texts this server asked this user's box to send
        try:
            box_sms.check_answer(d, actor.user_id, devices)
        except box_sms.Refused as exc:
            raise Refused(str(exc)) from exc
    return d


AfterCommit = list[Callable[[], Awaitable[Any]]]


async def ingest_item(item: Item, actor: Actor, devices: list[str], after: AfterCommit | None = None,
                      reach: dict[int, bool] | None = None) -> None:
    """Apply one uploaded message; every kind is idempotent (keyed by attempt or number).

    Inside a batch (`ingest_batch`) it runs in the batch's write transaction and appends the work that must
    not hold it — follow-ups, moving a recording to S3, waking an SMS waiter — to `after`, run once the
    transaction has committed. Called alone, it opens its own transaction and runs that work itself."""
    if after is None:
        own: AfterCommit = []
        async with write_tx():
            await ingest_item(item, actor, devices, own)
        await _run_after(own, actor)
        return
    try:
        d = await _authorise(item, actor, devices, {} if reach is None else reach)
    except Refused as exc:
        log.warning("agent upload refused", user=actor.user_id, seq=item.seq, what=str(exc))
        return
    kind = d.get("kind")
    if kind == "started":
        if await store.call_started(msgspec.convert(d["info"], store.DialInfo)) and item.msg.campaign is not None:
            await Campaign.update({Campaign.dialed: Campaign.dialed + 1}).where(Campaign.id == item.msg.campaign)
    elif kind == "finished":
        res = msgspec.convert(d["result"], store.CallResult)
        path = None
        if d.get("recording"):
            name = secrets.token_hex(16) + ".wav"
            path = files.calls_dir() / name
            await anyio.Path(path.parent).mkdir(parents=True, exist_ok=True)
            await anyio.Path(path).write_bytes(base64.b64decode(d["recording"]))
            res = msgspec.structs.replace(res, recording_file=name, recording_size=path.stat().st_size)
        if await store.call_finished(res):
            if item.msg.campaign is not None and (res.answered or res.effective):
                await Campaign.update({Campaign.answered: Campaign.answered + int(res.answered),
                                       Campaign.effective: Campaign.effective + int(res.effective)}).where(
                    Campaign.id == item.msg.campaign)
            row = await Call.select(Call.id).where(Call.attempt_key == res.key).first()
            threshold = d.get("followup_min_s")
            if row and threshold is not None and res.answered and res.talk_s > threshold:
                after.append(partial(followup_for_call, row["id"], min_talk_s=threshold))
            if row and path is not None:  # to S3 when configured; if S3 fails it stays on local disk
                after.append(partial(recording_store.offload_safely, row["id"], res.recording_file))
        elif path is not None:  # a result already stored (a repeated upload): drop the duplicate file
            await anyio.Path(path).unlink(missing_ok=True)
    elif kind == "number":
        await store.update_number(d["id"], d["status"], d["result"], d["attempts"], 0.0)
    elif kind == "status" and item.msg.campaign is not None:
        await store.set_campaign_status(item.msg.campaign, d["status"], d.get("reason", ""))
    elif kind == "block":
        dev = await Device.select(Device.id).where(Device.name == d["device"]).first()
        if dev:
            await store.block_sim(dev["id"], d["slot"], d["reason"])
    elif kind == "sms_in":  # the SMS inbox stores it once (keyed by box, sender, text and time of receipt)
        sms = msgspec.convert({k: v for k, v in d.items() if k != "kind"}, SmsIn)
        await box_sms.deliver_received(sms, sms.device)
    elif kind == "sms_result":  # wakes the waiting `box_sms_send`, or is kept for its retry
        answer = box_sms.check_answer(d, actor.user_id, devices)
        after.append(partial(_answer, d["request_id"], answer))


async def _answer(request_id: str, answer: Any) -> None:
    box_sms.answered(request_id, answer)


async def _link_row(actor: Actor, agent: str, devices: list[str]) -> dict[str, Any]:
    key = f"{actor.user_id}:{agent}"
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        row = await AgentLinkRow.select().where(AgentLinkRow.key == key).first()
        if row is None:
            await AgentLinkRow.insert(AgentLinkRow(key=key, user=actor.user_id, agent=agent, devices=devices,
                                                   high_water=0, last_seen=now))
            return {"key": key, "high_water": 0}
        await AgentLinkRow.update({AgentLinkRow.devices: devices, AgentLinkRow.last_seen: now}).where(
            AgentLinkRow.key == key)
        return row


async def ingest_batch(link: AgentLink, batch: Batch) -> int:
    """Apply what is new in the batch in order; returns the sequence number to acknowledge.

    The high-water mark is stored per (user, agent), so a server restart neither re-applies nor
    forgets anything, and two users' agents that share a name never share a mark.
    """
    key = f"{link.actor.user_id}:{link.name}"
    row = await AgentLinkRow.select(AgentLinkRow.high_water).where(AgentLinkRow.key == key).first()
    high = (row or await _link_row(link.actor, link.name, link.devices))["high_water"]
    fresh = [item for item in sorted(batch.items, key=lambda x: x.seq) if item.seq > high]
    reach: dict[int, bool] = {}
    for i in range(0, len(fresh), CHUNK):
        chunk, after = fresh[i : i + CHUNK], []
        async with write_tx():  # the chunk and its mark commit together: applied once, or not at all
            for item in chunk:
                await ingest_item(item, link.actor, link.devices, after, reach)
            high = chunk[-1].seq
            await AgentLinkRow.update({AgentLinkRow.high_water: high, AgentLinkRow.last_seen: dt.datetime.now(
                dt.UTC)}).where(AgentLinkRow.key == key)
        await _run_after(after, link.actor)
    return high


async def _run_after(after: AfterCommit, actor: Actor) -> None:
    for job in after:
        try:
            await job()
        except Exception:  # the records are safe; a follow-up or an upload to S3 is best effort
            log.exception("agent upload: after-commit step failed", user=actor.user_id)


async def _auth(socket: WebSocket) -> Actor | None:
    header = socket.headers.get("authorization", "")
    secret = header[7:].strip() if header.lower().startswith("bearer ") else socket.query_params.get("token", "")
    found = await tokens.lookup(secret) if secret else None
    if not found:
        return None
    actor = await load_actor(found[1], token_id=found[0])
    return actor if actor is not None and actor.can("dialer:run") else None


@websocket("/api/v1/dialer/agent/ws", opt={"public": True})
async def agent_ws(socket: WebSocket) -> None:
    """Authenticated by the Bearer token itself (the HTTP middleware does not see websockets)."""
    actor = await _auth(socket)
    if actor is None:
        await socket.close(code=4401, reason="token required")
        return
    await socket.accept()
    link: AgentLink | None = None
    try:
        hello = msgspec.json.decode(await socket.receive_bytes(), type=Hello)
        await register_devices(hello.agent, hello.devices, actor)
        stored = await _link_row(actor, hello.agent, hello.devices)
        link = AgentLink(hello.agent, actor, hello.devices, socket)
        HUB.links[hello.agent] = link
        await socket.send_bytes(encode(Ack(upto=stored["high_water"])))
        for row in await Campaign.select(Campaign.id).where(Campaign.status == "waiting"):
            names = await campaign_devices(row["id"])
            if names and names <= set(hello.devices):
                await link.send(Command(op="start", campaign=row["id"]))
                await store.set_campaign_status(row["id"], "running", "由电话助手运行 / run by the agent")
        while True:
            msg = decode(await socket.receive_bytes())
            if isinstance(msg, Batch):
                upto = await ingest_batch(link, msg)
                await socket.send_bytes(encode(Ack(upto=upto)))
    except (WebSocketDisconnect, anyio.EndOfStream, anyio.ClosedResourceError):
        pass
    finally:
        if link is not None and HUB.links.get(link.name) is link:
            del HUB.links[link.name]


@get("/api/v1/dialer/agent/campaigns/{campaign_id:int}/setup", opt={"permission": "dialer:run"}, tags=["dialer"])
async def agent_setup(request: Request, campaign_id: FromPath[int]) -> SetupOut:
    """What an agent needs to run a campaign: numbers, settings, SIM slots and limits, DNC, the prompt."""
    await campaigns.get_row(actor_of(request), campaign_id)
    import time

    setup = await store.campaign_setup(campaign_id, time.time())
    prompt = ""
    if setup.prompt_file:
        path = anyio.Path(files.prompts_dir() / setup.prompt_file)
        if await path.exists():
            prompt = base64.b64encode(await path.read_bytes()).decode()
    return SetupOut(setup=setup, prompt=prompt)


AGENT_ROUTES: list[Any] = [agent_ws, agent_setup]
