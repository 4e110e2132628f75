"""SMS benchmark: a bulk send queued and drained through the simulated box and through the fake gateway.

    .venv/bin/python bench/sms.py --size smoke|small|full

For each channel: queue N recipients with the application's own `compose.send` (validation, opt-out
check, batch insert), then run the worker's `drain()` until every message is sent. Reports queueing
rate, sending throughput (messages/s into the log as `sent`) and the time until all are sent. Runs on a
scratch SQLite file by default; with WAIHUBAO_DATABASE_URL=postgresql://… on a scratch database next to
the one named. Prints a table, then (last line) one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import pg_admin, scratch_url

SIZES = {"smoke": 300, "small": 2_000, "full": 10_000}
SCRATCH_PG = "waihubao_bench_sms"
TEXT = "{联系人}您好，感谢关注外呼宝。本周新品上市，详情请回复本短信咨询。回TD退订"






async def one_channel(channel: str, n: int, offset: int) -> dict[str, Any]:
    from core.perms.actor import system_actor
    from plugins.sms import compose, worker
    from plugins.sms.schemas import RecipientIn, SendIn
    from plugins.sms.tables import SmsMessage

    actor = system_actor("bench")
    recipients = [RecipientIn(number=f"+86138{offset + i:08d}", name=f"客户{i}") for i in range(n)]
    t0 = time.perf_counter()
    out = await compose.send(actor, SendIn(text=TEXT, recipients=recipients, channel=channel))
    queued_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    drains = 0
    while True:
        report = await worker.drain()
        drains += 1
        if report.claimed == 0:
            break
    send_s = time.perf_counter() - t1
    sent = await SmsMessage.count().where(
        (SmsMessage.batch == out.batch_id) & SmsMessage.state.is_in(["sent", "delivered"]))
    return {
        "channel": channel, "recipients": n, "queued": out.queued, "sent": sent, "parts": out.parts_total,
        "queue_s": round(queued_s, 3), "queue_per_s": round(n / queued_s, 1),
        "send_s": round(send_s, 3), "sent_per_s": round(sent / send_s, 1) if send_s else 0.0,
        "all_sent_s": round(queued_s + send_s, 3), "drains": drains,
    }


def start_gateway(key: str) -> tuple[subprocess.Popen[str], str]:
    """The fake gateway in its own process, as a real one would be: no GIL shared with the worker."""
    proc = subprocess.Popen([sys.executable, "-m", "plugins.sms.channels.fake_gateway", key], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stop_gateway(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=10)


async def run(size: str, url: str, key: str) -> dict[str, Any]:
    from core.db import engine
    from core.db.migrations import migrate
    from core.perms.actor import system_actor
    from core.settings import store
    from drivers.ev_fwt785.simulator import SimBox, VirtualClock, register
    from plugins.sms.config import SECTION

    n = SIZES[size]
    db = engine()
    if db.engine_type != "sqlite":
        await db.start_connection_pool(min_size=1, max_size=4)
    else:
        await db.run_ddl("PRAGMA journal_mode=WAL")
    await migrate()
    box = register(SimBox("bench-sms", clock=VirtualClock()))
    results = []
    await store.save(SECTION, {
        "box_url": f"sim://{box.name}", "box_dialect": "quectel", "gateway_url": url, "gateway_key": key,
        "sim_daily_limit": 0, "sim_monthly_limit": 0, "hours_start": "00:00", "hours_end": "00:00",
        "default_channel": "box"}, system_actor("bench"))
    results.append(await one_channel("box", n, 0))
    results.append(await one_channel("gateway", n, n))
    results[0]["box_parts_seen"] = len(box.sent_sms)
    if db.engine_type != "sqlite":
        await db.close_connection_pool()
    return {"bench": "sms", "size": size, "engine": db.engine_type, "recipients": n, "channels": results}


def print_table(result: dict[str, Any]) -> None:
    print(f"SMS bulk send, {result['recipients']} recipients per channel, {result['engine']}")
    head = ("channel", "queued", "sent", "parts", "queue s", "queued/s", "send s", "sent/s", "all sent s")
    print("{:<8} {:>7} {:>7} {:>7} {:>8} {:>9} {:>8} {:>8} {:>10}".format(*head))
    for r in result["channels"]:
        print("{:<8} {:>7} {:>7} {:>7} {:>8} {:>9} {:>8} {:>8} {:>10}".format(
            r["channel"], r["queued"], r["sent"], r["parts"], r["queue_s"], r["queue_per_s"], r["send_s"],
            r["sent_per_s"], r["all_sent_s"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="smoke")
    args = parser.parse_args()
    url, admin = scratch_url(SCRATCH_PG)
    if admin:
        asyncio.run(pg_admin(admin, f"DROP DATABASE IF EXISTS {SCRATCH_PG}"))
        asyncio.run(pg_admin(admin, f"CREATE DATABASE {SCRATCH_PG}"))
    os.environ["WAIHUBAO_DATABASE_URL"] = url
    os.environ.setdefault("PICCOLO_CONF", "core.db.piccolo_conf")
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    gateway, gateway_url = start_gateway("bench-key")
    try:
        result = asyncio.run(run(args.size, gateway_url, "bench-key"))
    finally:
        stop_gateway(gateway)
        if admin:
            asyncio.run(pg_admin(admin, f"DROP DATABASE IF EXISTS {SCRATCH_PG}"))
        elif url.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    print_table(result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
