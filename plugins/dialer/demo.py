"""Demo rows for `waihubao demo`: two weeks of calls for the demo sales staff, so 拨打记录 and 外呼统计
show something on first start. Deterministic (seeded); the numbers are a reserved-looking 1380013xxxx range."""

from __future__ import annotations

import datetime as dt
import random

from core import host
from core.auth.actors import load_actor
from core.customers.records import create_customer
from core.customers.schemas import CustomerIn
from core.db import write_tx
from drivers.ev_fwt785.simulator import default_cards
from drivers.ev_fwt785.simulator.audio import tone_wav
from plugins.dialer import recordings
from plugins.dialer.engine.calendar import zone
from plugins.dialer.tables import Call, Campaign, CampaignNumber

STAFF = {"lixs": ("李", 0), "zhaoxs": ("赵", 1)}
COMPANIES = ["华南五金", "明达塑胶", "正泰包装", "金桥物流", "海纳电子", "恒远建材", "博雅教育", "青松茶业"]
DAYS = 14
CALLS_PER_DAY = (25, 45)
DISPOSITIONS = ["意向", "无意向", "回拨", "", ""]
SIM_NUMBERS = [card.number for card in default_cards()]  # the simulated box's SIMs, so the records match 外呼设备


async def seed(users: dict[str, int]) -> None:
    rng = random.Random(785)
    tz = zone("Asia/Shanghai")
    today = host.today()
    for username, (_surname, k) in STAFF.items():
        if username not in users:
            continue
        actor = await load_actor(users[username])
        if actor is None:
            continue
        customers = []
        for j, company in enumerate(COMPANIES[k * 4:(k + 1) * 4]):
            phone = f"+86138001{k}{j:04d}"
            out = await create_customer(actor, CustomerIn(name=f"{company}（演示）", kind="individual",
                                                          type="潜在", source="电话营销", phones=[phone]))
            customers.append((out["id"] if isinstance(out, dict) else out.id, phone))
        start = dt.datetime.combine(today - dt.timedelta(days=DAYS), dt.time(9), tz)
        async with write_tx():
            campaign = (await Campaign.insert(Campaign(
                name="老客户回访（演示）", owner=actor.user_id, department=actor.department_id, mode="prompt",
                status="done", source="customers", created_at=start, started_at=start,
                finished_at=start + dt.timedelta(days=DAYS - 1, hours=9))).returning(Campaign.id))[0]["id"]
            rows = []
            for day in range(DAYS):
                date = today - dt.timedelta(days=DAYS - day)
                if date.weekday() >= 5:
                    continue
                at = dt.datetime.combine(date, dt.time(9, 5), tz)
                for n in range(rng.randint(*CALLS_PER_DAY)):
                    if at.time() >= dt.time(12) and at.time() < dt.time(13, 30):
                        at = at.replace(hour=13, minute=30)
                    if at.time() >= dt.time(18):
                        break
                    rows.append(_call(rng, campaign, actor, customers, at, f"{username}:{day}:{n}"))
                    at += dt.timedelta(seconds=rows[-1].total_s + 20 + rng.randint(5, 60))
            numbers = sorted({r.number for r in rows})
            await CampaignNumber.insert(*[CampaignNumber(campaign=campaign, e164=e, position=i, state="done",
                                                         result="demo") for i, e in enumerate(numbers)])
            await Call.insert(*rows)
            await Campaign.update({Campaign.total: len(numbers), Campaign.dialed: len(rows),
                                   Campaign.answered: sum(r.answered for r in rows),
                                   Campaign.effective: sum(r.effective for r in rows)}).where(Campaign.id == campaign)
        await recordings.create(actor, "开场白（演示）", demo_prompt(), "demo.wav", handover_s=0.0, shared=False)


def demo_prompt(seconds: float = 12.0) -> bytes:
    """A stand-in for a recorded opening line (a short tone every 2 s), so a new user can start a campaign in
    the default mode at once; they record their own on 外呼语音."""
    return tone_wav(seconds, freq=660.0, segments=[(float(t), 0.4) for t in range(0, int(seconds), 2)])


def _call(rng: random.Random, campaign: int, actor, customers: list[tuple[int, str]], at: dt.datetime,
          key: str) -> Call:
    if rng.random() < 0.3:
        customer, number = rng.choice(customers)
    else:
        customer, number = None, f"+861380013{rng.randint(0, 9999):04d}"
    ring = rng.uniform(4, 20)
    answered = rng.random() < 0.35
    talk = 0.0
    taken = effective = False
    if answered:
        fate = rng.random()
        taken = fate >= 0.5
        talk = rng.expovariate(1 / 120) + 15 if taken else rng.uniform(2, 15)
        effective = taken and talk >= 30
    slot = rng.randint(1, 5)
    return Call(attempt_key=f"demo:{key}", kind="campaign", campaign=campaign, user=actor.user_id,
                department=actor.department_id, customer=customer, number=number, device_name="sim1", slot=slot,
                caller_number=SIM_NUMBERS[slot - 1], answered=answered,
                cause="" if answered else rng.choice(["no_answer", "no_answer", "busy", "rejected"]),
                hangup_by="callee" if answered else "", dial_at=at, alert_at=at + dt.timedelta(seconds=2),
                answer_at=at + dt.timedelta(seconds=ring) if answered else None,
                end_at=at + dt.timedelta(seconds=ring + talk), ring_s=round(ring, 1), talk_s=round(talk, 1),
                total_s=round(ring + talk, 1), listened_s=round(min(talk, 15.0), 1), taken_over=taken,
                taken_over_at=at + dt.timedelta(seconds=ring + 8) if taken else None, effective=effective,
                disposition=rng.choice(DISPOSITIONS) if taken else "", created_at=at)
