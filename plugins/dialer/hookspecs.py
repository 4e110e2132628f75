"""Hooks the dialer plugin publishes (`HOOKSPECS` of plugins.dialer.plugin): the boxes it holds, for others.

The dialer is the one owner of every EV-FWT 785 box — in this process (`serve --simulated-box`, a box on
the server) or on a salesperson's PC through the agent (电话助手). Another module sends a text through
those boxes without importing this plugin:

    from core.plugins import call_published, collect_sync
    held = collect_sync(pm.hook.box_devices)               # sync: which boxes, where, online
    sims = await call_published(pm, "box_sims")            # None: the dialer is absent or unlicensed
    answer = await call_published(pm, "box_sms_send", to="+8613800138000", text="您好", device="sim1",
                                  slot=1, request_id="sms:42")
    answer[0] == {"ok": True, "device": "sim1", "slot": 1, "parts": 1, "refs": [7], "error": "",
                  "retryable": False, "code": ""}

`box_sms_send` is idempotent per `request_id`: a request repeated after a timeout or a dropped link is
answered with the first answer, never sent twice (the agent keeps the ids it sent on its disk). On failure
`code` says what to do: "busy" / "slot" / "offline" (try another SIM or box), "pending" / "timeout"
(retry later with the same id, on no other box: it may still go out), "invalid" (never send), "refused"
(retry later), "unknown" (it may have gone out: do not resend automatically).
"""

from __future__ import annotations

from typing import Any

from core.hookspecs import hookspec


@hookspec
def box_sms_send(to: str, text: str, device: str | None, slot: int | None,  # type: ignore[empty-body]
                 request_id: str) -> dict[str, Any]:
    """Send one text through a box the dialer holds (`device` None: any; `slot` None: the active SIM)."""


@hookspec
def box_sims() -> list[dict[str, Any]]:  # type: ignore[empty-body]
    """The SIM slots of the boxes the dialer holds right now, one dict each: {"device", "slot", "where"
    ("server" | "agent"), "online", "active" (True on the slot the radio is on; None when unknown), "ready" and
    "registered" (None when unknown), "busy" (a campaign or a call holds the box: only its active slot can
    text), "carrier", "number"}."""


@hookspec
def box_devices() -> list[dict[str, Any]]:  # type: ignore[empty-body]
    """The boxes the dialer holds right now, without I/O (sync, for a page or a "configured?" check):
    {"device", "where" ("server" | "agent"), "online"}."""
