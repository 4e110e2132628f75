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

Prints a table, then (last line) one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import emit, percentile, table
from plugins.dialer.engine import CARRIER_PRESETS, CampaignConfig, SimLimits, SimState, new_state
from plugins.dialer.simworld import CalleeModel, World

SIZES = {
    "smoke": {"seeds": 1, "numbers": 1500, "ingest_agents": 10, "ingest_hours": 0.5},
    "small": {"seeds": 3, "numbers": 3000, "ingest_agents": 50, "ingest_hours": 1.0},
    "full": {"seeds": 10, "numbers": 3000, "ingest_agents": 100, "ingest_hours": 7.5},
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
    """100 agents × 2 boxes feeding one server: every call result goes through the agent's outbox and the
    server's idempotent ingest (`plugins.dialer.agent_protocol`), with a link drop per agent replayed."""
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=list(SIZES), default="smoke")
    size = SIZES[ap.parse_args().size]
    rows = []
    figures: dict[str, float | str] = {"size": ap.parse_args().size}
    for preset in ("telemarketing", "ordinary"):
        limits = CARRIER_PRESETS[preset]
        for boxes in (1, 2):
            runs = [one_day(boxes, limits, seed, size["numbers"]) for seed in range(size["seeds"])]
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
    ing = ingest(size["ingest_agents"], size["ingest_hours"])
    table(f"{size['ingest_agents']} agents × 2 boxes → one server (result ingest, one replayed batch in two)",
          ["events", "stored", "lost", "p50 µs/event", "p99 µs/event"],
          [[int(ing["events"]), int(ing["stored"]), int(ing["lost"]), ing["ingest_p50_us"], ing["ingest_p99_us"]]])
    figures.update({f"ingest_{k}": round(v, 2) for k, v in ing.items()})
    figures["ingest_agents"] = size["ingest_agents"]
    emit(figures)


if __name__ == "__main__":
    main()
