"""Hooks the SMS plugin publishes (`HOOKSPECS` of plugins.sms.plugin).

Another module sends a text without importing this plugin:

    from core.plugins import call_published
    results = await call_published(pm, "sms_send", to=["13800138000"], text="您的订单已审批",
                                   actor=actor, purpose="orders:42:approved")

`results` is None when SMS is not installed or not licensed, else a one-element list holding an
`plugins.sms.schemas.HookResult`-shaped dict: {"batch_id", "queued", "skipped": [{"number", "reason"}]}.
A non-empty `purpose` makes the call idempotent: the same purpose, number and text are queued once.

The module that holds the boxes (the dialer) hands every received text to `sms_received`; it lands in
收信记录 (a 退订/TD reply puts the number on the opt-out list) once per (source, sender, text, received_at).
"""

from __future__ import annotations

from typing import Any

from core.hookspecs import hookspec


@hookspec
def sms_send(to: list[str], text: str, actor: Any, purpose: str) -> dict[str, Any]:  # type: ignore[empty-body]
    """Queue `text` to each number in `to` (any spelling; E.164 after normalising) as `actor`."""


@hookspec
def sms_received(sender: str, text: str, source: str, received_at: float | None) -> dict[str, Any] | None:
    """A box received `text` from `sender` (`source`: the box; `received_at`: epoch seconds, None = now).
    Returns the inbox row (`plugins.sms.schemas.InboxOut` as a dict), or None when it was already stored."""
