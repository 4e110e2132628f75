"""Package boundaries, event serialisation, seeded callees, two boxes at once, the sim:// handler."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import anyio
import msgspec
import pytest
import serial

import drivers.ev_fwt785
from drivers.ev_fwt785 import events as ev
from drivers.ev_fwt785 import list_ports
from drivers.ev_fwt785.info import csq_to_bars, csq_to_dbm
from drivers.ev_fwt785.simulator import Callee, CalleeBook, RandomCallees

from .conftest import connect, expect, make_sim

PKG = Path(drivers.ev_fwt785.__file__).parent
ROOT = PKG.parents[1]


def test_driver_knows_nothing_of_the_crm() -> None:
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                assert n.split(".")[0] not in ("core", "plugins"), f"{path}: imports {n}"


def test_events_round_trip_as_json() -> None:
    e = ev.CallEnded(
        box="b", seq=3, at=1.0, call_id=1, slot=2, number="10086", cause="busy", hangup_by="network",
        q850=17, answered=False, dial_at=0.0, alert_at=None, answer_at=None, end_at=1.0, ring_s=0.0,
        talk_s=0.0, total_s=1.0, modem_duration_s=None,
    )  # fmt: skip
    data = msgspec.json.encode(e)
    assert b'"type":"CallEnded"' in data
    assert ev.event_decoder.decode(data) == e


def test_csq_scale() -> None:
    assert [csq_to_dbm(x) for x in (0, 1, 2, 30, 31, 99)] == [-113, -111, -109, -53, -51, None]
    assert [csq_to_bars(x) for x in (99, 1, 5, 12, 17, 22, 31)] == [0, 0, 1, 2, 3, 4, 5]


def test_random_callees_are_seeded_and_patterns_ordered() -> None:
    a = [RandomCallees(seed=7).draw() for _ in range(1)] + [RandomCallees(seed=7).draw()]
    assert a[0] == a[1]
    m1, m2 = RandomCallees(seed=3), RandomCallees(seed=3)
    assert [m1.draw() for _ in range(50)] == [m2.draw() for _ in range(50)]
    outcomes = {m1.draw().outcome for _ in range(200)}
    assert outcomes == {"answer", "no_answer", "busy", "reject", "unreachable"}
    book = CalleeBook(random_model=RandomCallees(seed=1))
    book.add("13800138000", Callee.busy())
    book.add("re:^139", Callee.rejects())
    book.add("1*", Callee.unreachable())
    assert book.lookup("13800138000").outcome == "busy"
    assert book.lookup("13912345678").outcome == "reject"
    assert book.lookup("15012345678").outcome == "unreachable"


def test_sim_url_handler_registered_with_pyserial() -> None:
    assert "drivers.ev_fwt785.simulator" in serial.protocol_handler_packages
    with serial.serial_for_url("sim://plain?dialect=simcom", baudrate=115200, timeout=0.5) as port:
        port.write(b"ATE0\r")
        assert port.read_until(b"OK\r\n").endswith(b"OK\r\n")
        port.write(b"AT+CGMI\r")
        assert b"SIMCOM INCORPORATED" in port.read_until(b"OK\r\n")
    with pytest.raises(serial.SerialException):
        serial.serial_for_url("sim://plain?bogus=1")


def test_list_ports_returns_port_infos() -> None:
    assert all(p.device for p in list_ports(all_ports=True))


@pytest.mark.anyio
async def test_two_boxes_five_slots_in_parallel() -> None:
    sims = [make_sim("quectel"), make_sim("simcom")]
    for s in sims:
        s.callees.add("*", Callee.answers(2, hangup_after=5, ring_after=1))
    async with connect(sims[0]) as b0, connect(sims[1]) as b1:
        streams = [b0.subscribe(), b1.subscribe()]
        results: dict[int, ev.CallEnded] = {}
        dialed = [anyio.Event(), anyio.Event()]

        async def run(i: int, box: object, slot: int) -> None:
            call = await box.dial(f"1380013800{i}", slot=slot)  # type: ignore[attr-defined]
            dialed[i].set()
            results[i] = await call.wait_ended(5)

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, 0, b0, 4)
            tg.start_soon(run, 1, b1, 5)
            for d in dialed:
                await d.wait()
            for s in sims:
                s.advance(10)
        for st in streams:
            await expect(st, ev.CallAnswered)
        assert {r.cause for r in results.values()} == {"normal"}
        assert (results[0].slot, results[1].slot) == (4, 5)
        assert sims[0].call_log[-1].iccid != sims[1].call_log[-1].iccid


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
def test_simulate_pty_prints_a_device_path() -> None:
    code = "from drivers.ev_fwt785.cli import device; device()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "simulate", "--pty"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/")
        with serial.Serial(path, 115200, timeout=0.5) as port:
            port.write(b"AT\r")
            assert port.read_until(b"OK\r\n").endswith(b"OK\r\n")
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
