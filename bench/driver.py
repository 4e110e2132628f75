"""Phone-box driver benchmark: command round-trip, parser throughput, event-loop lag.

    .venv/bin/python bench/driver.py --size smoke|small|full

Prints a table, then (last line) one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import structlog

from drivers.ev_fwt785 import Box
from drivers.ev_fwt785 import events as ev
from drivers.ev_fwt785.parser import AtParser, Command, Kind, Response
from drivers.ev_fwt785.simulator import PtyServer, SimBox, VirtualClock, register, reset

SIZES = {
    "smoke": {"rtt": 200, "lines": 50_000, "lag_s": 1.0},
    "small": {"rtt": 2_000, "lines": 300_000, "lag_s": 3.0},
    "full": {"rtt": 10_000, "lines": 2_000_000, "lag_s": 10.0},
}


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def round_trips(url: str, n: int) -> list[float]:
    async with Box(url, reconnect=False) as box:
        ch = box.ch
        for _ in range(20):
            await ch.command("AT")
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            await ch.command("AT+CSQ", kind=Kind.SINGLELINE, prefix="+CSQ:")
            out.append((time.perf_counter() - t0) * 1000)
        return out


async def bench_rtt(n: int) -> dict[str, float]:
    res: dict[str, float] = {}
    register(SimBox("bench-rtt", clock=VirtualClock()))
    lat = await round_trips("sim://bench-rtt", n)
    res["rtt_sim_p50_ms"], res["rtt_sim_p99_ms"] = pct(lat, 50), pct(lat, 99)
    if sys.platform != "win32":
        with PtyServer(SimBox("bench-pty", clock=VirtualClock())) as path:
            lat = await round_trips(path, n)
        res["rtt_pty_p50_ms"], res["rtt_pty_p99_ms"] = pct(lat, 50), pct(lat, 99)
    return res


def bench_parser(n_lines: int) -> dict[str, float]:
    """Replies to AT+CSQ (2 lines each) with one unsolicited line per 4 reply lines (20% URCs)."""
    cmd = Command("AT+CSQ", Kind.SINGLELINE, "+CSQ:")
    unit = b"\r\n+CSQ: 23,99\r\n\r\n+CREG: 1\r\n\r\nOK\r\n\r\n+CSQ: 21,99\r\n\r\nOK\r\n"  # 5 lines, 1 URC
    reps = max(1, n_lines // 5)
    stream = unit * reps
    chunks = [stream[i : i + 4096] for i in range(0, len(stream), 4096)]
    p = AtParser()
    p.begin(cmd)
    count = 0
    t0 = time.perf_counter()
    for chunk in chunks:
        p.feed(chunk)
        while (e := p.next_event()) is not None:
            count += 1
            if isinstance(e, Response):
                p.begin(cmd)
    dt = time.perf_counter() - t0
    lines = reps * 5
    return {"parser_lines_per_s": lines / dt, "parser_items": count}


async def bench_lag(seconds: float) -> dict[str, float]:
    """2 boxes each stream 100 URC lines/s (signal changes) while a ticker measures loop lag."""
    sims = [register(SimBox(f"bench-lag{i}", clock=VirtualClock())) for i in range(2)]
    stop = threading.Event()
    injected = [0, 0]

    def streamer(i: int) -> None:
        sim, k, t_next = sims[i], 0, time.perf_counter()
        while not stop.is_set():
            t_next += 0.01
            k += 1
            sim.urc(f'+QIND: "csq",{10 + k % 20},99')
            injected[i] += 1
            delay = t_next - time.perf_counter()
            if delay > 0:
                stop.wait(delay)

    lags: list[float] = []
    received = [0, 0]
    async with Box("sim://bench-lag0", reconnect=False) as b0, Box("sim://bench-lag1", reconnect=False) as b1:
        streams = [b0.subscribe(), b1.subscribe()]

        async def consume(i: int) -> None:
            async for e in streams[i]:
                if isinstance(e, ev.SignalChanged):
                    received[i] += 1

        async with anyio.create_task_group() as tg:
            for i in range(2):
                tg.start_soon(consume, i)
            idle: list[float] = []
            end = time.perf_counter() + seconds / 2
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                await anyio.sleep(0.005)
                idle.append(max(0.0, (time.perf_counter() - t0 - 0.005) * 1000))
            threads = [threading.Thread(target=streamer, args=(i,), daemon=True) for i in range(2)]
            for t in threads:
                t.start()
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                await anyio.sleep(0.005)
                lags.append(max(0.0, (time.perf_counter() - t0 - 0.005) * 1000))
            stop.set()
            for t in threads:
                t.join()
            await anyio.sleep(0.2)
            tg.cancel_scope.cancel()
    return {
        "loop_lag_idle_p99_ms": pct(idle, 99),
        "loop_lag_p50_ms": pct(lags, 50),
        "loop_lag_p99_ms": pct(lags, 99),
        "lag_lines_injected": sum(injected),
        "lag_events_received": sum(received),
    }


async def main(size: str) -> dict[str, float]:
    cfg = SIZES[size]
    out: dict[str, float] = {"size": size}  # type: ignore[dict-item]
    out.update(await bench_rtt(int(cfg["rtt"])))
    out.update(bench_parser(int(cfg["lines"])))
    out.update(await bench_lag(float(cfg["lag_s"])))
    reset()
    return out


def report(r: dict[str, float]) -> None:
    rows = [
        (
            "command round-trip over sim:// (AT+CSQ)",
            f"p50 {r['rtt_sim_p50_ms']:.3f} ms   p99 {r['rtt_sim_p99_ms']:.3f} ms",
        ),
    ]
    if "rtt_pty_p50_ms" in r:
        rows.append(
            (
                "command round-trip over a pty",
                f"p50 {r['rtt_pty_p50_ms']:.3f} ms   p99 {r['rtt_pty_p99_ms']:.3f} ms",
            )
        )
    rows += [
        ("parser throughput (20% unsolicited)", f"{r['parser_lines_per_s']:,.0f} lines/s"),
        (
            "event-loop lag, 2 boxes x 100 lines/s",
            f"p50 {r['loop_lag_p50_ms']:.2f} ms   p99 {r['loop_lag_p99_ms']:.2f} ms"
            f"   (idle p99 {r['loop_lag_idle_p99_ms']:.2f} ms; {r['lag_events_received']}/"
            f"{r['lag_lines_injected']} events)",
        ),
    ]
    width = max(len(a) for a, _ in rows)
    print(f"bench/driver.py --size {r['size']}")
    for a, b in rows:
        print(f"  {a:<{width}}  {b}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", choices=list(SIZES), default="smoke")
    args = ap.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    result = anyio.run(main, args.size, backend="asyncio")
    report(result)
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}))
