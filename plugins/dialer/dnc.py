"""谢绝来电: the dialer's answer to core's `do_not_contact` hook, and how running campaigns hear of additions
from any module (an SMS 退订 reply drops the number from a campaign dialing right now)."""

from __future__ import annotations

from core.hooktypes import DoNotContactAdded
from plugins.dialer.tables import Dnc


async def listed(numbers: list[str]) -> list[str]:
    """Which of these E.164 numbers are on the dialer's do-not-call list."""
    if not numbers:
        return []
    return [r["e164"] for r in await Dnc.select(Dnc.e164).where(Dnc.e164.is_in(numbers))]


async def on_added(payload: DoNotContactAdded) -> None:
    """Running engines, in this process and on every connected agent, stop dialing these numbers."""
    from plugins.dialer import runtime
    from plugins.dialer.agent_server import HUB
    from plugins.dialer.engine import io as i

    rt = runtime.current()
    for e164 in payload.numbers:
        await HUB.broadcast("dnc", e164)
        if rt is not None:
            rt.broadcast(i.AddDnc(at=rt.clock(), e164=e164))
