"""`device` command group (attached to the main `waihubao` CLI elsewhere).

device list [--url URL …]       attached boxes and their slots (operator, signal)
device info URL                 identity and every slot
device dial URL NUMBER [--slot N] [--prompt FILE] [--seconds S]
device sms URL NUMBER TEXT
device simulate --pty | --tcp 127.0.0.1:PORT [--dialect quectel|simcom]
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import click
import structlog

from . import events as ev
from .box import Box, Timeouts
from .errors import BoxError
from .info import SlotStatus
from .ports import list_ports

T = TypeVar("T")


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return anyio.run(fn, backend="asyncio")
    except BoxError as exc:
        raise click.ClickException(str(exc)) from exc


def _open(url: str, baud: int, dialect: str) -> Box:
    return Box(url, baudrate=baud, dialect=dialect, reconnect=False, timeouts=Timeouts(register=20.0))


def _slot_line(s: SlotStatus) -> str:
    if not s.present:
        return f"  slot {s.slot}: empty"
    op = s.operator
    sig = s.signal
    reg = s.registration
    name = (op.name if op else None) or "-"
    plmn = (op.plmn if op else None) or ""
    return (
        f"  slot {s.slot}: {s.sim_state:<6} {name:<14} {plmn:<6}"
        f" ICCID {s.iccid or '-'}  IMSI {s.imsi or '-'}"
        f"  signal {sig.dbm if sig else '-'} dBm {'▮' * (sig.bars if sig else 0):<5}"
        f"  reg cs={reg.cs if reg else '-'} eps={reg.eps if reg else '-'} ims={reg.ims if reg else '-'}"
    )


url_options = [
    click.option("--baud", default=115200, show_default=True, help="Baud rate."),
    click.option("--dialect", default="auto", show_default=True, help="auto, quectel or simcom."),
]


def _with_url_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(url_options):
        f = opt(f)
    return f


@click.group("device")
@click.option("-v", "--verbose", is_flag=True, help="Show the driver's info/debug log.")
def device(verbose: bool) -> None:
    """The EV-FWT 785 phone box: list, inspect, test-dial, SMS, simulate."""
    if not verbose:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@device.command("list")
@click.option("--url", "urls", multiple=True, help="Also probe these URLs (e.g. sim://box1).")
@click.option("--no-probe", is_flag=True, help="Only list serial ports; do not talk to them.")
@_with_url_options
def list_cmd(urls: tuple[str, ...], no_probe: bool, baud: int, dialect: str) -> None:
    """Attached boxes and their slots with operator and signal."""
    ports = list_ports()
    targets = [p.device for p in ports if p.likely_box] + list(urls)
    for p in ports:
        click.echo(f"{p.device:<20} {p.description}  [{p.hwid}]{'  <- likely box' if p.likely_box else ''}")
    if not targets:
        click.echo("no boxes found")
        return
    if no_probe:
        return

    async def probe() -> None:
        for url in targets:
            try:
                async with _open(url, baud, dialect) as box:
                    ident = await box.identity()
                    click.echo(f"{url}: {ident.manufacturer} {ident.model} IMEI {ident.imei}")
                    for s in await box.scan_slots():
                        click.echo(_slot_line(s))
            except BoxError as exc:
                click.echo(f"{url}: {exc}")

    _run(probe)


@device.command("info")
@click.argument("url")
@_with_url_options
def info_cmd(url: str, baud: int, dialect: str) -> None:
    """Identity and every slot of the box at URL."""

    async def main() -> None:
        async with _open(url, baud, dialect) as box:
            i = await box.identity()
            click.echo(f"{url}: {i.manufacturer} {i.model} firmware {i.firmware} IMEI {i.imei}")
            click.echo(f"dialect {box.dialect.name}, active slot {await box.active_slot()}")
            for s in await box.scan_slots():
                click.echo(_slot_line(s))

    _run(main)


@device.command("dial")
@click.argument("url")
@click.argument("number")
@click.option("--slot", type=int, default=None, help="Slot 1-5 to dial from.")
@click.option("--prompt", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--seconds", type=float, default=60.0, show_default=True, help="Hang up after this long.")
@_with_url_options
def dial_cmd(
    url: str, number: str, slot: int | None, prompt: Path | None, seconds: float, baud: int, dialect: str
) -> None:
    """Place one call for a manual check; play FILE to the callee when answered."""

    async def main() -> None:
        async with _open(url, baud, dialect) as box:
            stream = box.subscribe()
            name = await box.upload_prompt(prompt) if prompt else None
            call = await box.dial(number, slot=slot)
            with anyio.move_on_after(seconds):
                async for e in stream:
                    click.echo(f"{type(e).__name__}: {ev_summary(e)}")
                    if isinstance(e, ev.CallAnswered) and name:
                        await box.play_prompt(name)
                    if isinstance(e, ev.CallEnded):
                        return
            if call.active:
                ended = await box.hangup()
                if ended:
                    click.echo(f"CallEnded: {ev_summary(ended)}")

    _run(main)


def ev_summary(e: ev.Event) -> str:
    skip = {"box", "seq", "at"}
    return " ".join(f"{k}={getattr(e, k)}" for k in e.__struct_fields__ if k not in skip)


@device.command("sms")
@click.argument("url")
@click.argument("number")
@click.argument("text")
@click.option("--slot", type=int, default=None)
@_with_url_options
def sms_cmd(url: str, number: str, text: str, slot: int | None, baud: int, dialect: str) -> None:
    """Send TEXT to NUMBER (split into concatenated parts if long)."""

    async def main() -> list[int]:
        async with _open(url, baud, dialect) as box:
            if slot is not None:
                await box.select_slot(slot)
            return await box.send_sms(number, text)

    refs = _run(main)
    click.echo(f"sent {len(refs)} part(s), references {refs}")


@device.command("simulate")
@click.option("--pty", "use_pty", is_flag=True, help="Serve on a pseudo-terminal; prints its path.")
@click.option("--tcp", "tcp", default=None, metavar="HOST:PORT", help="Serve over TCP.")
@click.option("--dialect", default="quectel", show_default=True, type=click.Choice(["quectel", "simcom"]))
@click.option("--name", default="sim1", show_default=True)
@click.option("--speed", default=1.0, show_default=True, help="Virtual seconds per real second.")
def simulate_cmd(use_pty: bool, tcp: str | None, dialect: str, name: str, speed: float) -> None:
    """Run a simulated box until Ctrl-C."""
    from .simulator import PtyServer, RealtimeTicker, SimBox, TcpServer

    if use_pty == bool(tcp):
        raise click.UsageError("give exactly one of --pty or --tcp HOST:PORT")
    stop = threading.Event()
    # Install the handler before announcing the address: a supervisor may stop us right after.
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    box = SimBox(name, dialect=dialect)
    ticker = RealtimeTicker(box.clock, speed=speed).start()
    server: PtyServer | TcpServer
    if use_pty:
        server = PtyServer(box).start()
        click.echo(server.path)
    else:
        assert tcp is not None
        host, _, port = tcp.rpartition(":")
        server = TcpServer(box, host or "127.0.0.1", int(port)).start()
        click.echo(f"{server.url}")
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
        ticker.stop()
