"""The `device` click group, through CliRunner (sim:// URLs) and a `simulate --tcp` subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from drivers.ev_fwt785 import Box
from drivers.ev_fwt785.cli import device
from drivers.ev_fwt785.simulator import BOXES, get_or_create

ROOT = Path(__file__).resolve().parents[2]


def test_info_lists_identity_and_slots() -> None:
    res = CliRunner().invoke(device, ["info", "sim://cli-info"])
    assert res.exit_code == 0, res.output
    assert "Quectel EC25" in res.output and "IMEI 869710030012345" in res.output
    assert res.output.count("slot ") >= 5 and "CHINA MOBILE" in res.output


def test_list_probes_extra_urls() -> None:
    res = CliRunner().invoke(device, ["list", "--url", "sim://cli-list?dialect=simcom"])
    assert res.exit_code == 0, res.output
    assert "SIMCOM INCORPORATED A7670SA" in res.output


def test_sms_and_errors() -> None:
    runner = CliRunner()
    res = runner.invoke(device, ["sms", "sim://cli-sms", "10086", "你好"])
    assert res.exit_code == 0 and "sent 1 part(s)" in res.output
    assert BOXES["cli-sms"].sent_sms[-1].text == "你好"
    for args, msg in [
        (["info", "nosuch://x"], "not known"),
        (["info", "/dev/definitely-not-a-box"], "cannot open"),
        (["dial", "sim://cli-sms", "12"], "not a dialable number"),
        (["dial", "sim://cli-sms", "10086", "--slot", "7"], "out of range"),
        (["sms", "sim://cli-sms", "10086", "x" * 5000], "max_parts"),
    ]:
        res = runner.invoke(device, args)
        assert res.exit_code != 0 and msg in res.output, (args, res.output)


def test_dial_with_prompt(tmp_path: Path) -> None:
    from drivers.ev_fwt785.simulator import Callee
    from drivers.ev_fwt785.simulator.audio import tone_wav

    sim = get_or_create("sim://cli-dial?realtime=1")
    sim.callees.add("*", Callee(outcome="answer", ring_after=0.05, answer_after=0.1, hangup_after=0.3))
    prompt = tmp_path / "p.wav"
    prompt.write_bytes(tone_wav(0.1))
    res = CliRunner().invoke(
        device,
        ["dial", "sim://cli-dial?realtime=1", "13800138000", "--prompt", str(prompt), "--seconds", "5"],
    )
    assert res.exit_code == 0, res.output
    assert "CallAnswered" in res.output and "CallEnded" in res.output
    assert "p.wav" in sim.files


@pytest.mark.skipif(sys.platform == "win32", reason="uses SIGTERM")
def test_simulate_tcp_serves_until_stopped() -> None:
    code = "from drivers.ev_fwt785.cli import device; device()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "simulate", "--tcp", "127.0.0.1:0", "--dialect", "simcom"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("socket://127.0.0.1:")

        async def main() -> str:
            async with Box(url, reconnect=False) as box:
                return (await box.identity()).manufacturer

        assert anyio.run(main, backend="asyncio") == "SIMCOM INCORPORATED"
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0


def test_simulate_needs_exactly_one_transport() -> None:
    res = CliRunner().invoke(device, ["simulate"])
    assert res.exit_code != 0 and "exactly one" in res.output
