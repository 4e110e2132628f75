"""Dialer benchmark: a working day in virtual time with the seeded callee model of issue 5.

    .venv/bin/python bench/dialer.py --size smoke|small|full

Callee model (defaults): 35% answer after ringing 4–20 s, the rest ring out (no answer at the ring
timeout, 25 s); a 15 s recording; of the answered 50% hang up during the recording, 30% listen through,
20% speak early (the salesperson takes over then); a conversation lasts Exp(mean 120 s) and is
effective if the salesperson talked ≥ 30 s; 20 s wrap-up. Calling windows 09:00–12:00 and 13:30–18:00
(7.5 h). SIMs use the 电销卡 preset (40/h, 200/day, 10 s gap) unless noted; the per-user daily cap is
off. The engine drives an engine-level simulated world (`plugins/dialer/simworld.py`) that checks
every dial against the SIM limits, windows and callee caps independently.

The upper bound for the same model is the least of three: the salesperson is never idle (every minute
is conversation or wrap-up) → 3600 · P(T ≥ 30 s) / (E[T] + wrap-up); the SIMs dial their daily limit
(dials × answer rate × share reaching the salesperson × P(effective) / hours); each line is never idle
(3600 / the mean line time of one dial × effective conversations per dial, per line).

Result ingest, through a real server (`ingest_<db>_*` figures), on SQLite and on PostgreSQL (skipped with a
note when 127.0.0.1:5432 does not answer), each in a process of its own: a scratch database with a
licence, N salespeople with an API token each, `waihubao serve`; N agents (电话助手) in this process, each
announcing two boxes, creating its manual campaign through the API and fetching its setup like the real
agent, then speaking the real protocol over websockets (hello, `Batch`es of ≤ 200 `Item`s, one in flight,
`Ack(upto)` back). Each box places calls at the rate of the simulated day above (two boxes, 电销卡), with
the callee model's ring and talk times, compressed by `ingest_speedup`; every call queues what
`AgentSink` queues: started, finished, the number's final state. Latency is per event, from the send of
its batch to the ack that covers it (p50/p99; "queued→ack" adds the wait in the outbox). Once per agent,
mid-run, the TCP link is cut right after a batch goes out; the agent reconnects and sends the unacknowledged
batch again. Then all agents come back from an outage at once with a backlog each: the server's drain rate
(events/s) is its capacity. Afterwards the database is checked: every call row once with its end, every
number in its final state, SIM usage counted once per call (lost = events sent − stored, must be 0).
Beside it, the raw limit: the same writes in plain SQL on the same database, one transaction per event.
The in-memory figure (`ingest_memory_*`) times `agent_protocol.Ingest` alone: no database, no network.

Prints tables, then (last line) one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import multiprocessing
import os
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import msgspec

from bench._common import emit, percentile, postgres_available, table
from plugins.dialer.engine import CARRIER_PRESETS, CampaignConfig, SimLimits, SimState, new_state
from plugins.dialer.simworld import CalleeModel, World

SIZES = {  # ingest: agents, virtual hours of calls, time compression (all ≈ 44 events/s offered, 6× the real
    # load of 100 agents), calls per box queued during an outage
    "smoke": {"seeds": 1, "numbers": 1500, "ingest_agents": 10, "ingest_hours": 0.1, "ingest_speedup": 60.0,
              "ingest_backlog_calls": 3},
    "small": {"seeds": 3, "numbers": 3000, "ingest_agents": 50, "ingest_hours": 0.15, "ingest_speedup": 12.0,
              "ingest_backlog_calls": 4},
    "full": {"seeds": 10, "numbers": 3000, "ingest_agents": 100, "ingest_hours": 0.3, "ingest_speedup": 6.0,
             "ingest_backlog_calls": 8},
}
SH = ZoneInfo("Asia/Shanghai")
HOURS = 7.5
MODEL = CalleeModel(answer=0.35, ring=(4.0, 20.0), busy_share_of_unanswered=0.0, hang_up_in_prompt=0.5,
                    listen_through=0.3, talk_mean_s=120.0)
CONFIG = CampaignConfig(ring_timeout_s=25.0, prompt_s=15.0, wrapup_s=20.0, gap_s=3.0, effective_s=30.0,
                        user_max_per_day=None, callee_min_gap_s=120.0, abandon_cap=0.03)


def bounds(limits: SimLimits, boxes: int) -> tuple[float, float, float]:
    """(salesperson bound, SIM-limit bound, line bound) in effective conversations per hour."""
    p_eff = math.exp(-CONFIG.effective_s / MODEL.talk_mean_s)
    reach = MODEL.answer * (1 - MODEL.hang_up_in_prompt) * p_eff  # effective conversations per dial
    agent = 3600 * p_eff / (MODEL.talk_mean_s + CONFIG.wrapup_s)
    per_sim_day = min(limits.max_calls_per_day or 10**9, (limits.max_calls_per_hour or 10**9) * HOURS)
    sims = boxes * 5 * per_sim_day * reach / HOURS
    # a line is busy for at least: the gap, then ringing out, or ringing + the callee's part of the call
    ring = sum(MODEL.ring) / 2
    speak = sum(MODEL.speak_early) / 2
    hang = (1.0 + CONFIG.prompt_s) / 2
    answered = ring + MODEL.hang_up_in_prompt * hang + MODEL.listen_through * (CONFIG.prompt_s + MODEL.talk_mean_s) \
        + (1 - MODEL.hang_up_in_prompt - MODEL.listen_through) * (speak + MODEL.talk_mean_s)
    per_dial = CONFIG.gap_s + (1 - MODEL.answer) * CONFIG.ring_timeout_s + MODEL.answer * answered
    lines = boxes * 3600 / per_dial * reach
    return agent, sims, lines


def one_day(boxes: int, limits: SimLimits, seed: int, numbers: int) -> dict[str, float]:
    sims = [SimState(key=f"b{b}:{s}", box=f"b{b}", slot=s, limits=limits) for b in range(boxes) for s in range(1, 6)]
    state = new_state(CONFIG, [(str(k), f"+86139{k:08d}") for k in range(numbers)], sims)
    world = World(state, MODEL, seed)
    start = dt.datetime(2026, 12, 7, 8, 0, tzinfo=SH).timestamp()
    t0 = time.perf_counter()
    world.run(start, start + 11 * 3600)
    wall = time.perf_counter() - t0
    t = state.totals
    return {
        "effective_per_hour": t.effective / HOURS,
        "utilisation": world.stats.agent_busy_s / (HOURS * 3600),
        "abandoned_rate": t.abandoned / t.answered if t.answered else 0.0,
        "answer_rate": t.answered / t.dials if t.dials else 0.0,
        "violations": float(len(world.stats.violations)),
        "dials": float(t.dials),
        "decision_us_per_call": world.stats.decision_ns / max(1, t.dials) / 1000,
        "decision_us": world.stats.decision_ns / max(1, world.stats.decisions) / 1000,
        "wall_s": wall,
    }


def ingest(agents: int, hours: float) -> dict[str, float]:
    """In memory only (no server, database or network): every call result goes through the agent's outbox and
    `plugins.dialer.agent_protocol.Ingest`, with a link drop per agent replayed."""
    from plugins.dialer.agent_protocol import Ingest, Outbox, ResultMsg

    server = Ingest()
    lat: list[float] = []
    produced = 0
    for a in range(agents):
        box = Outbox(agent=f"agent{a}")
        n = int(hours * 3600 / 45 * 2)  # one result per ~45 s per box, two boxes
        for k in range(n):
            box.add(ResultMsg(key=f"a{a}:{k}", campaign=a, number=str(k), answered=k % 3 == 0, cause="normal",
                              at=float(k), talk_s=30.0))
            produced += 1
            if k % 50 == 49 or k == n - 1:
                batch = box.pending()
                t0 = time.perf_counter_ns()
                acked = server.receive(box.encode(batch))
                lat.append((time.perf_counter_ns() - t0) / 1000 / max(1, len(batch)))
                if k % 100 == 99:  # the link dropped before the ack arrived: the batch is sent again
                    acked = server.receive(box.encode(batch))
                box.ack(acked)
    return {"events": float(produced), "stored": float(server.count), "lost": float(produced - server.count),
            "ingest_p50_us": percentile(lat, 50), "ingest_p99_us": percentile(lat, 99)}


# ---------------------------------------------------------------------------------------------------------------
# Result ingest through a real server: N agents × 2 boxes over websockets, on SQLite and on PostgreSQL.

PASSWORD = "bench-password-2026"
SCRATCH = "waihubao_bench_dialer"
BATCH_LIMIT = 200  # what the agent's uploader sends at most per message (Outbox.pending)
ACK_WAIT_S = 10.0  # the agent resends an unacknowledged batch after this long (Agent._uploader)


def day_calls_per_hour(one_day_runs: list[dict[str, float]]) -> float:
    """Dials per hour of one salesperson with two boxes, from the simulated day (the callee model)."""
    return statistics.fmean(r["dials"] for r in one_day_runs) / HOURS


def call_plan(rng: random.Random, hours: float, per_box_hour: float) -> list[tuple[float, float, bool, float, float]]:
    """One box's calls over `hours` of virtual time: (dial s, end s, answered, ring s, talk s). A call rings
    out at the ring timeout or is answered after ringing and talked Exp(mean) long; the next dial follows
    after the gap plus an idle wait that makes the mean cycle 3600 / `per_box_hour` (the simulated day)."""
    mean_dur = (1 - MODEL.answer) * CONFIG.ring_timeout_s + MODEL.answer * (sum(MODEL.ring) / 2 + MODEL.talk_mean_s)
    idle = max(0.0, 3600 / per_box_hour - mean_dur - CONFIG.gap_s)
    out, t = [], rng.uniform(0, 3600 / per_box_hour)
    while t < hours * 3600:
        if rng.random() < MODEL.answer:
            ring = rng.uniform(*MODEL.ring)
            talk = min(rng.expovariate(1 / MODEL.talk_mean_s), 1800.0)
            out.append((t, t + ring + talk, True, ring, talk))
        else:
            out.append((t, t + CONFIG.ring_timeout_s, False, CONFIG.ring_timeout_s, 0.0))
        t = out[-1][1] + CONFIG.gap_s + rng.expovariate(1 / idle if idle else 1e9)
    return [c for c in out if c[1] <= hours * 3600]  # the run ends with the window: no call left open


class SimAgent:
    """One 电话助手 as the server sees it: an outbox of `Item`s with sequence numbers, uploaded over the
    websocket like `plugins.dialer.agent.Agent` does (hello, then one batch of ≤ 200 in flight, the next once
    the ack arrives), timing every event from the send of its batch to the ack that covers it."""

    def __init__(self, index: int, token: str) -> None:
        self.name = f"bench-pc{index}"
        self.index = index
        self.token = token
        self.devices = [f"a{index}b1", f"a{index}b2"]
        self.items: list[Any] = []
        self.seq = 0
        self.made: dict[int, float] = {}
        self.sent: dict[int, float] = {}
        self.replayed: set[int] = set()
        self.changed = asyncio.Event()
        self.producing = True
        self.reset_stats()

    def reset_stats(self) -> None:
        self.lat: list[float] = []  # s from the send of its batch to the ack covering it
        self.replay_lat: list[float] = []  # the same for events of a batch whose link was cut
        self.e2e: list[float] = []  # s from queueing in the outbox to the ack
        self.produced = self.acked = self.batches = self.drops = self.resends = 0
        self.last_ack = 0.0

    def add(self, msg: Any) -> None:
        from plugins.dialer.agent_protocol import Item

        self.seq += 1
        self.items.append(Item(seq=self.seq, msg=msg))
        self.made[self.seq] = time.perf_counter()
        self.produced += 1
        self.changed.set()

    def ack(self, upto: int) -> None:
        now = time.perf_counter()
        keep = []
        for it in self.items:
            if it.seq > upto:
                keep.append(it)
                continue
            sent = self.sent.pop(it.seq, None)
            if sent is not None:
                (self.replay_lat if it.seq in self.replayed else self.lat).append(now - sent)
            self.e2e.append(now - self.made.pop(it.seq))
            self.acked += 1
            self.last_ack = now
        self.items = keep

    async def link(self, url: str, drop_at: float | None) -> None:
        """Upload until the producer is done and the outbox is empty. At `drop_at` (perf_counter) the TCP
        connection is cut right after a batch went out, before its ack: the agent reconnects at once and
        sends what is unacknowledged again (the server must store it once)."""
        import websockets

        from plugins.dialer.agent_protocol import Ack, Batch, decode, encode

        while True:
            try:
                async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {self.token}"},
                                              max_size=None, open_timeout=60) as ws:
                    await ws.send(msgspec.json.encode({"agent": self.name, "devices": self.devices}))
                    first = decode(await ws.recv())
                    if isinstance(first, Ack):
                        self.ack(first.upto)
                    while True:
                        batch = self.items[:BATCH_LIMIT]
                        if not batch:
                            if not self.producing:
                                return
                            self.changed.clear()
                            await self.changed.wait()
                            continue
                        now = time.perf_counter()
                        for it in batch:
                            if it.seq in self.sent:
                                self.resends += 1
                            self.sent[it.seq] = now
                        await ws.send(encode(Batch(agent=self.name, items=batch)))
                        self.batches += 1
                        if drop_at is not None and now >= drop_at:
                            drop_at = None
                            self.drops += 1
                            self.replayed.update(it.seq for it in batch)
                            ws.transport.abort()  # the link dies with the batch on the wire
                            break
                        with anyio.move_on_after(ACK_WAIT_S):
                            while True:
                                msg = decode(await ws.recv())
                                if isinstance(msg, Ack):
                                    self.ack(msg.upto)
                                    break
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake, TimeoutError):
                await asyncio.sleep(0.5)  # the agent's first reconnect delay
            if not self.producing and not self.items:
                return


async def _produce(agent: SimAgent, plan: list[tuple[float, Any]], t0: float, speedup: float) -> None:
    for vt, msg in plan:
        delay = t0 + vt / speedup - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        agent.add(msg)
    agent.producing = False
    agent.changed.set()


def _messages(agent: SimAgent, setup: dict[str, Any], calls: list[list[tuple[float, float, bool, float, float]]],
              numbers: list[tuple[int, str]], base: float) -> tuple[list[tuple[float, Any]], dict[str, Any]]:
    """The outbox messages of these calls as `AgentSink` words them (started, finished, the number's
    final state), in virtual-time order; and what the database must hold afterwards."""
    from plugins.dialer import store
    from plugins.dialer.agent_protocol import ResultMsg

    cid = setup["campaign_id"]
    devices = {s["device"]: s["device_id"] for s in setup["slots"]}
    plan: list[tuple[float, Any]] = []
    expect: dict[str, Any] = {"keys": set(), "numbers": {}}
    for b, box_calls in enumerate(calls):
        name = agent.devices[b]
        for k, (dial, end, answered, ring, talk) in enumerate(box_calls):
            if not numbers:
                break
            nid, e164 = numbers.pop()
            key = store.attempt_key(cid, f"{nid}:1")
            info = store.DialInfo(key=key, campaign_id=cid, number_id=nid, e164=e164, dial_at=base + dial,
                                  device_id=devices.get(name), device_name=name, slot=k % 5 + 1, user_id=None,
                                  department_id=None)
            res = store.CallResult(key=key, answered=answered, cause="normal" if answered else "no_answer",
                                   hangup_by="callee" if answered else "", alert_at=base + dial + 2,
                                   answer_at=base + dial + ring if answered else None, end_at=base + end,
                                   ring_s=ring, talk_s=talk, total_s=end - dial,
                                   effective=talk >= CONFIG.effective_s)
            status, result = ("done", "answered") if answered else ("exhausted", "no_answer")
            plan.append((dial, ResultMsg(key=f"started:{key}", campaign=cid, number=e164, answered=False, cause="",
                                         at=info.dial_at, detail={"kind": "started",
                                                                  "info": msgspec.to_builtins(info)})))
            plan.append((end, ResultMsg(key=f"finished:{key}", campaign=cid, number="", answered=answered,
                                        cause=res.cause, at=res.end_at, talk_s=talk,
                                        detail={"kind": "finished", "result": msgspec.to_builtins(res),
                                                "recording": "", "followup_min_s": None})))
            plan.append((end, ResultMsg(key=f"number:{nid}:{status}", campaign=None, number="", answered=False,
                                        cause="", at=0.0, detail={"kind": "number", "id": nid, "status": status,
                                                                  "result": result, "attempts": 1})))
            expect["keys"].add(key)
            expect["numbers"][nid] = status
    plan.sort(key=lambda p: p[0])
    return plan, expect


async def _phase(agents: list[SimAgent], plans: list[list[tuple[float, Any]]], ws: str, speedup: float,
                 seconds: float, drop: bool, rng: random.Random) -> dict[str, Any]:
    """Run the agents' producers and links until every outbox is empty (or a drain deadline passes)."""
    for agent in agents:
        agent.reset_stats()
        agent.producing = True
    t0 = time.perf_counter() + 0.5
    async with anyio.create_task_group() as tg:
        for agent, plan in zip(agents, plans, strict=True):
            tg.start_soon(_produce, agent, plan, t0, speedup)
            drop_at = t0 + seconds * rng.uniform(0.3, 0.7) if drop else None
            tg.start_soon(_bounded, agent.link(ws, drop_at), t0 + seconds + 120)
    return {"wall_s": max([a.last_ack for a in agents] + [t0 + 1e-3]) - t0,
            "lat": [x for a in agents for x in a.lat], "replay_lat": [x for a in agents for x in a.replay_lat],
            "e2e": [x for a in agents for x in a.e2e], "produced": sum(a.produced for a in agents),
            "acked": sum(a.acked for a in agents), "batches": sum(a.batches for a in agents),
            "drops": sum(a.drops for a in agents), "resends": sum(a.resends for a in agents),
            "unacked": sum(len(a.items) for a in agents)}


async def _bounded(coro: Any, deadline: float) -> None:
    with anyio.move_on_after(max(1.0, deadline - time.perf_counter())):
        await coro


async def _make_users(n: int) -> list[tuple[int, str]]:
    """Migrate the scratch database, then N salespeople, each with an API token for their agent."""
    from core import host
    from core.auth import tokens
    from core.db.engine import close_engine, open_engine
    from core.db.migrations import migrate
    from core.org.users import create_user
    from core.perms.actor import system_actor
    from core.perms.builtin_roles import sync_builtin_roles

    await open_engine()
    try:
        await migrate()  # what `waihubao migrate` does, without another interpreter starting
        await sync_builtin_roles(host.current().pm)
        licence, actor = host.current().licence, system_actor("bench")

        async def one(i: int) -> tuple[int, str]:
            uid = await create_user(username=f"bench{i}", password=PASSWORD, role_keys=["sales"], licence=licence,
                                    actor=actor)
            return uid, (await tokens.create(uid, "电话助手 bench"))[1]

        return list(await asyncio.gather(*(one(i) for i in range(n))))
    finally:
        await close_engine()


async def _drive(url: str, users: list[tuple[int, str]], size: dict[str, Any], per_agent_hour: float,
                 seed: int) -> dict[str, Any]:
    """Register each agent's boxes (hello), create its campaign through the API, fetch its setup like the
    agent does, then run a paced working day and, after it, a backlog upload (all agents back from an outage)."""
    import httpx
    import websockets

    from core.db.engine import close_engine, open_engine
    from plugins.dialer.agent import ws_url
    from plugins.dialer.tables import Device

    ws = ws_url(url)
    rng = random.Random(seed)
    agents = [SimAgent(i, token) for i, (_, token) in enumerate(users)]
    hours, speedup, backlog = size["ingest_hours"], size["ingest_speedup"], size["ingest_backlog_calls"]
    plans = [[call_plan(rng, hours, per_agent_hour / 2) for _ in range(2)] for _ in agents]
    sem = asyncio.Semaphore(16)

    async def prepare(agent: SimAgent, calls: list[list[Any]], client: httpx.AsyncClient) -> dict[str, Any]:
        async with sem:
            auth = {"Authorization": f"Bearer {agent.token}"}
            async with websockets.connect(ws, additional_headers=auth) as link:  # registers the boxes
                await link.send(msgspec.json.encode({"agent": agent.name, "devices": agent.devices}))
                await link.recv()
            ids = [d["id"] for d in await Device.select(Device.id).where(Device.name.is_in(agent.devices))]
            count = sum(len(c) for c in calls) + 2 * backlog + 5
            r = await client.post("/api/v1/dialer/campaigns", headers=auth, json={
                "name": f"bench {agent.index}", "mode": "manual", "devices": [{"device": i} for i in ids],
                "numbers": [f"139{agent.index:03d}{k:05d}" for k in range(count)]})
            if r.status_code != 201:
                raise RuntimeError(f"campaign: {r.status_code} {r.text[:300]}")
            r = await client.get(f"/api/v1/dialer/agent/campaigns/{r.json()['id']}/setup", headers=auth)
            r.raise_for_status()
            return r.json()["setup"]

    await open_engine()  # the bench reads the boxes' ids the hello registered (the setup carries them too)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            setups = await asyncio.gather(*(prepare(a, c, client) for a, c in zip(agents, plans, strict=True)))
    finally:
        await close_engine()
    base = time.time()
    paced, backlogs, expect = [], [], {"keys": set(), "numbers": {}, "campaigns": [], "devices": set()}
    for agent, setup, calls in zip(agents, setups, plans, strict=True):
        numbers = [(int(i), e) for i, e in reversed(setup["numbers"])]
        plan, exp = _messages(agent, setup, calls, numbers, base)
        paced.append(plan)
        extra = [[(0.0, 0.0 + 25, False, 25.0, 0.0)] * backlog for _ in range(2)]
        bplan, bexp = _messages(agent, setup, extra, numbers, base + hours * 3600)
        backlogs.append([(0.0, m) for _, m in bplan])
        for e in (exp, bexp):
            expect["keys"] |= e["keys"]
            expect["numbers"].update(e["numbers"])
        expect["campaigns"].append(setup["campaign_id"])
        expect["devices"] |= {s["device_id"] for s in setup["slots"]}
    seconds = hours * 3600 / speedup
    day = await _phase(agents, paced, ws, speedup, seconds, True, rng)
    flood = await _phase(agents, backlogs, ws, 1.0, 0.0, False, rng)
    return {"day": day, "backlog": flood, "expect": expect, "seconds": seconds}


async def _verify(expect: dict[str, Any]) -> dict[str, int]:
    """What the database holds: call rows (once each, with their end), numbers in their final state, and
    the SIM usage counters (a result applied twice would count twice)."""
    from core.db.engine import close_engine, open_engine
    from plugins.dialer.tables import Call, Campaign, CampaignNumber, SimUsage

    await open_engine()
    try:
        rows = await Call.select(Call.attempt_key, Call.end_at).where(Call.campaign.is_in(expect["campaigns"]))
        keys = [r["attempt_key"] for r in rows]
        numbers = await CampaignNumber.select(CampaignNumber.id, CampaignNumber.state).where(
            CampaignNumber.campaign.is_in(expect["campaigns"]))
        usage = await SimUsage.select(SimUsage.calls).where(SimUsage.device.is_in(list(expect["devices"])))
        dialed = await Campaign.select(Campaign.dialed).where(Campaign.id.is_in(expect["campaigns"]))
    finally:
        await close_engine()
    finished = sum(1 for r in rows if r["end_at"] is not None and r["attempt_key"] in expect["keys"])
    return {"started": len(set(keys) & expect["keys"]), "finished": finished,
            "numbers": sum(1 for n in numbers if expect["numbers"].get(n["id"]) == n["state"]),
            "duplicates": len(keys) - len(set(keys)), "usage_calls": sum(u["calls"] for u in usage),
            "campaign_dialed": sum(d["dialed"] for d in dialed)}


RAW_CAP = 6000  # calls: enough for a stable rate


async def _raw(url: str, calls: int, campaign: int, number: int, device: int) -> float:
    """Seconds per event for the same writes in plain SQL: per call, one transaction inserting the row and
    marking the number, one updating the row with its result, one setting the number's final state."""
    now = dt.datetime.now(dt.UTC)
    ins = ("INSERT INTO dialer_calls (attempt_key, kind, call_type, campaign, campaign_number, number, caller_number,"
           " device, device_name, slot, iccid, dial_at, created_at, answered, cause, hangup_by, ring_s, talk_s,"
           " total_s, listened_s, taken_over, abandoned, effective, disposition, note, recording_file,"
           " recording_size, recording_store) VALUES ({}, 'campaign', '业务联系', {}, {}, '+8613900000000', '', {},"
           " 'raw', 1, '', {}, {}, {}, '', '', 0, 0, 0, 0, {}, {}, {}, '', '', '', 0, 'local')")
    dialing = "UPDATE dialer_campaign_numbers SET state = 'dialing', attempts = attempts + 1 WHERE id = {}"
    upd = ("UPDATE dialer_calls SET answered = {}, cause = 'normal', end_at = {}, ring_s = 8, talk_s = 60,"
           " total_s = 68, effective = {} WHERE attempt_key = {}")
    num = "UPDATE dialer_campaign_numbers SET state = 'done', result = 'answered', attempts = 1 WHERE id = {}"
    if url.startswith("sqlite"):
        import sqlite3

        db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        p = "?"
        t0 = time.perf_counter()
        for k in range(calls):
            key = f"raw:{k}"
            stamp = now.isoformat()
            for sql, args in (((ins.format(*[p] * 10), dialing.format(p)),
                               ((key, campaign, number, device, stamp, stamp, False, False, False, False), (number,))),
                              ((upd.format(p, p, p, p),), ((True, stamp, True, key),)),
                              ((num.format(p),), ((number,),))):
                db.execute("BEGIN IMMEDIATE")
                for q, a in zip(sql, args, strict=True):
                    db.execute(q, a)
                db.execute("COMMIT")
        spent = time.perf_counter() - t0
        db.close()
        return spent / (3 * calls)
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        d = [f"${i}" for i in range(1, 11)]
        t0 = time.perf_counter()
        for k in range(calls):
            key = f"raw:{k}"
            async with conn.transaction():
                await conn.execute(ins.format(*d), key, campaign, number, device, now, now, False, False, False,
                                   False)
                await conn.execute(dialing.format("$1"), number)
            async with conn.transaction():
                await conn.execute(upd.format("$1", "$2", "$3", "$4"), True, now, True, key)
            async with conn.transaction():
                await conn.execute(num.format("$1"), number)
        return (time.perf_counter() - t0) / (3 * calls)
    finally:
        await conn.close()


def real_ingest(kind: str, size: dict[str, Any], per_agent_hour: float) -> dict[str, Any]:
    """One database's half, in a process of its own (the engine and its tables bind to one database per
    process): scratch database, licence, users and tokens, `waihubao serve`, the agents, the checks."""
    import logging
    import shutil
    import uuid

    import structlog

    from bench._common import Server, bench_env, pg_admin, scratch_database

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    t_setup = time.perf_counter()
    url = scratch_database(kind, SCRATCH)
    env = bench_env(url)
    tmp = Path(env["WAIHUBAO_LICENCE_FILE"]).parent
    env["WAIHUBAO_LICENCE_TRUSTED_KEYS"] = str(tmp / "trusted-keys.txt")
    env["PICCOLO_CONF"] = "core.db.piccolo_conf"
    os.environ.update(env)
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from core import host
    from core.licence import EDITION_MODULES, Edition, LicencePayload, Licensee, generate_keypair, install
    from core.licence import issue_licence as issue

    pem, public = generate_keypair("bench")
    (tmp / "trusted-keys.txt").write_text(public + "\n")

    agents = size["ingest_agents"]
    payload = LicencePayload(kid="bench", lid=str(uuid.uuid4()), edition=Edition.SUITE, seats=agents + 5,
                             modules=sorted(EDITION_MODULES[Edition.SUITE]),
                             licensee=Licensee(name="bench", company="bench"), issued_at=host.today())
    install(issue(payload, load_pem_private_key(pem, password=None)), host.today())
    users = asyncio.run(_make_users(agents))
    log = tmp / "server.log"
    server = Server(env, log=log)
    try:
        run = asyncio.run(_drive(server.url, users, size, per_agent_hour, seed=7))
    finally:
        server.stop()
    took = time.perf_counter() - t_setup
    marks = ("traceback", "[error", '"level":"error"', '"level": "error"', "exception", "refused")
    errors = sum(1 for line in log.read_text(errors="replace").lower().splitlines() if any(m in line for m in marks))
    stored = asyncio.run(_verify(run["expect"]))
    raw_calls = min(RAW_CAP, len(run["expect"]["keys"]))
    number = next(iter(run["expect"]["numbers"]))
    raw = asyncio.run(_raw(url, raw_calls, run["expect"]["campaigns"][0], number, min(run["expect"]["devices"])))
    if kind == "postgres":
        asyncio.run(pg_admin(url.rsplit("/", 1)[0] + "/postgres", f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)'))
    else:
        shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    day, flood = run["day"], run["backlog"]
    sent = day["produced"] + flood["produced"]
    kept = stored["started"] + stored["finished"] + stored["numbers"]
    return {
        "events": sent, "stored": kept, "lost": sent - kept, "duplicates": stored["duplicates"],
        "double_counted": stored["usage_calls"] - stored["finished"],
        "campaign_dialed_off": stored["campaign_dialed"] - stored["started"],
        "day_events": day["produced"], "p50_ms": percentile(day["lat"], 50) * 1000,
        "p99_ms": percentile(day["lat"], 99) * 1000, "max_ms": max(day["lat"], default=0.0) * 1000,
        "e2e_p99_ms": percentile(day["e2e"], 99) * 1000, "events_per_s": day["acked"] / day["wall_s"],
        "replayed": len(day["replay_lat"]), "replay_max_ms": max(day["replay_lat"], default=0.0) * 1000,
        "drops": day["drops"], "resent": day["resends"], "batches": day["batches"],
        "offered_per_s": day["produced"] / run["seconds"], "unacked": day["unacked"] + flood["unacked"],
        "backlog_events": flood["produced"], "capacity_per_s": flood["acked"] / flood["wall_s"],
        "backlog_p99_ms": percentile(flood["lat"], 99) * 1000,
        "raw_per_s": 1 / raw, "raw_calls": raw_calls, "server_errors": errors,
        "setup_s": took - run["day"]["wall_s"] - run["backlog"]["wall_s"], "day_s": run["day"]["wall_s"],
        "backlog_s": run["backlog"]["wall_s"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=list(SIZES), default="smoke")
    size = SIZES[ap.parse_args().size]
    rows = []
    figures: dict[str, float | str] = {"size": ap.parse_args().size}
    per_agent_hour = 0.0
    for preset in ("telemarketing", "ordinary"):
        limits = CARRIER_PRESETS[preset]
        for boxes in (1, 2):
            runs = [one_day(boxes, limits, seed, size["numbers"]) for seed in range(size["seeds"])]
            if preset == "telemarketing" and boxes == 2:
                per_agent_hour = day_calls_per_hour(runs)
            m = {k: statistics.fmean(r[k] for r in runs) for k in runs[0]}
            agent_bound, sim_bound, line_bound = bounds(limits, boxes)
            bound = min(agent_bound, sim_bound, line_bound)
            tag = f"{preset}_{boxes}box"
            rows.append([preset, boxes, m["dials"], m["effective_per_hour"], m["utilisation"], m["abandoned_rate"],
                         m["answer_rate"], int(sum(r["violations"] for r in runs)), bound,
                         m["effective_per_hour"] / bound, m["decision_us_per_call"]])
            figures.update({f"{tag}_effective_per_hour": round(m["effective_per_hour"], 3),
                            f"{tag}_utilisation": round(m["utilisation"], 4),
                            f"{tag}_abandoned_rate": round(m["abandoned_rate"], 4),
                            f"{tag}_answer_rate": round(m["answer_rate"], 4),
                            f"{tag}_sim_limit_violations": int(sum(r["violations"] for r in runs)),
                            f"{tag}_upper_bound": round(bound, 3),
                            f"{tag}_fraction_of_bound": round(m["effective_per_hour"] / bound, 4),
                            f"{tag}_decision_us_per_call": round(m["decision_us_per_call"], 1)})
    table("One salesperson, a 7.5-hour day (mean over seeds)",
          ["SIM preset", "boxes", "dials", "effective/h", "utilisation", "abandoned", "answer rate",
           "SIM-limit violations", "upper bound/h", "fraction", "engine µs/call"], rows)

    agents, hours, speedup = size["ingest_agents"], size["ingest_hours"], size["ingest_speedup"]
    ing = ingest(agents, hours)
    table(f"In-memory protocol only (plugins.dialer.agent_protocol.Ingest: no server, no database, no network), "
          f"{agents} agents", ["events", "stored", "lost", "p50 µs/batch-event", "p99 µs/batch-event"],
          [[int(ing["events"]), int(ing["stored"]), int(ing["lost"]), ing["ingest_p50_us"], ing["ingest_p99_us"]]])
    figures.update({"ingest_memory_p50_us": round(ing["ingest_p50_us"], 2),
                    "ingest_memory_p99_us": round(ing["ingest_p99_us"], 2),
                    "ingest_memory_lost": int(ing["lost"])})

    results: dict[str, dict[str, Any]] = {}
    for kind in ("sqlite", "postgres"):
        if kind == "postgres" and not postgres_available():
            print("\nPostgreSQL is not reachable on 127.0.0.1:5432: skipping its half of the ingest bench")
            continue
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            results[kind] = pool.submit(real_ingest, kind, size, per_agent_hour).result()
    load = agents * per_agent_hour * 3 / 3600  # events/s of a real day (started, finished, number per call)
    day_100 = 100 * per_agent_hour * 3 / 3600  # the issue's 100 agents × 2 boxes, uncompressed
    real_day = f"a real day of {agents} agents is {load:.2f}/s" + (
        f", of 100 agents {day_100:.1f}/s" if agents != 100 else "")
    table(f"Real server: {agents} agents × 2 boxes over websockets → `waihubao serve`: {hours:g} h of calls at "
          f"{per_agent_hour:.0f} dials/h per agent, {speedup:g}× time ({load * speedup:.0f} events/s offered; "
          f"{real_day}); one link cut per agent mid-batch; latency = send of the batch → the ack covering the event",
          ["database", "events", "stored", "lost", "dupes", "double-counted", "p50 ms", "p99 ms", "max ms",
           "queued→ack p99 ms", "events/s", "replayed", "replay max ms", "resent", "server errors"],
          [[k, r["events"], r["stored"], r["lost"], r["duplicates"], r["double_counted"], r["p50_ms"], r["p99_ms"],
            r["max_ms"], r["e2e_p99_ms"], r["events_per_s"], r["replayed"], r["replay_max_ms"], r["resent"],
            r["server_errors"]] for k, r in results.items()])
    table(f"Capacity: {agents} agents back from an outage with {size['ingest_backlog_calls'] * 2 * 3} events each, "
          f"against the same writes in plain SQL (one transaction per event, one connection)",
          ["database", "backlog events", "server events/s", "ms/event", "raw SQL events/s", "raw/server",
           "× a 100-agent day", "setup s", "day s", "backlog s"],
          [[k, r["backlog_events"], r["capacity_per_s"], 1000 / r["capacity_per_s"], r["raw_per_s"],
            r["raw_per_s"] / r["capacity_per_s"], r["capacity_per_s"] / day_100, r["setup_s"], r["day_s"],
            r["backlog_s"]] for k, r in results.items()])
    for kind, r in results.items():
        figures.update({f"ingest_{kind}_p50_ms": round(r["p50_ms"], 2), f"ingest_{kind}_p99_ms": round(r["p99_ms"], 2),
                        f"ingest_{kind}_max_ms": round(r["max_ms"], 2),
                        f"ingest_{kind}_queued_p99_ms": round(r["e2e_p99_ms"], 2),
                        f"ingest_{kind}_events": r["events"], f"ingest_{kind}_lost": r["lost"],
                        f"ingest_{kind}_duplicates": r["duplicates"],
                        f"ingest_{kind}_double_counted": r["double_counted"],
                        f"ingest_{kind}_events_per_s": round(r["events_per_s"], 1),
                        f"ingest_{kind}_capacity_events_per_s": round(r["capacity_per_s"], 1),
                        f"ingest_{kind}_raw_sql_events_per_s": round(r["raw_per_s"], 1),
                        f"ingest_{kind}_raw_over_server": round(r["raw_per_s"] / r["capacity_per_s"], 2),
                        f"ingest_{kind}_server_errors": r["server_errors"],
                        f"ingest_{kind}_headroom_over_100_agent_day": round(r["capacity_per_s"] / day_100, 2)})
    figures["ingest_lost"] = sum(r["lost"] for r in results.values())
    figures["ingest_duplicates"] = sum(r["duplicates"] + r["double_counted"] for r in results.values())
    figures["ingest_agents"] = agents
    figures["ingest_speedup"] = speedup
    figures["ingest_databases"] = ",".join(results)
    emit(figures)

if __name__ == "__main__":
    main()
