"""The SMS plugin's hooks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.hooktypes import (
    CustomerTab,
    Job,
    MenuItem,
    Permission,
    PluginManifest,
    Reminder,
    SettingsSection,
    TimelineEntry,
)
from core.perms.actor import Actor, system_actor
from plugins.sms import hookspecs as published_hookspecs

MANIFEST = PluginManifest(name="sms", title="手机短信", version="0.1.0", module="sms",
                          description="短信发送、群发、定时、模板、收发记录")
HOOKSPECS = published_hookspecs

PERMISSIONS = [
    Permission(key="sms:send", label="发送短信", label_en="Send SMS", scoped=False),
    Permission(key="sms:read", label="查看短信记录", label_en="View SMS logs"),
    Permission(key="sms:settings", label="短信设置（退订名单、共享模板、通道）", label_en="SMS settings", scoped=False),
]


@hookimpl
def piccolo_apps() -> list[str]:
    return ["plugins.sms.piccolo_app"]


@hookimpl
def permissions() -> list[Permission]:
    return PERMISSIONS


@hookimpl
def settings_sections() -> list[SettingsSection]:
    from plugins.sms.config import SECTION

    return [SECTION]


@hookimpl
def jobs() -> list[Job]:
    from plugins.sms.worker import run_job

    return [Job(name="sms.worker", run=run_job, every=30)]


@hookimpl
def background_tasks() -> list[Any]:
    from plugins.sms.listener import run_listener
    from plugins.sms.worker import worker_loop

    return [worker_loop, run_listener]


@hookimpl
async def sms_send(to: list[str], text: str, actor: Any, purpose: str) -> dict[str, Any]:
    from plugins.sms.compose import send_from_hook

    return await send_from_hook(to, text, actor if actor is not None else system_actor("sms"), purpose)


@hookimpl
async def sms_received(sender: str, text: str, source: str, received_at: float | None) -> dict[str, Any] | None:
    """A text received on a box another module holds (the dialer's, in the server or on an agent)."""
    import msgspec

    from plugins.sms.listener import ingest_once

    stored = await ingest_once(sender, text, source=source, received_at=received_at)
    return msgspec.to_builtins(stored) if stored is not None else None


@hookimpl
def route_handlers() -> list[Any]:
    from plugins.sms.routes_api import API_HANDLERS
    from plugins.sms.routes_pages import PAGE_HANDLERS

    return [*API_HANDLERS, *PAGE_HANDLERS]


@hookimpl
def template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def menu_items(actor: Actor) -> list[MenuItem]:
    return [
        MenuItem(key="sms", label="手机短信", href="/sms", permission="sms:send", order=40),
        MenuItem(key="sms.sent", label="发信记录", href="/sms/sent", permission="sms:read", order=41),
        MenuItem(key="sms.inbox", label="收信记录", href="/sms/inbox", permission="sms:read", order=42),
        MenuItem(key="sms.templates", label="常用短信", href="/sms/templates", permission="sms:send", order=43),
        MenuItem(key="sms.optouts", label="退订名单", href="/sms/optouts", permission="sms:send", order=44),
    ]


@hookimpl
def customer_tabs(actor: Actor) -> list[CustomerTab]:
    return [CustomerTab(key="sms", label="短信", href="/sms/customer/{id}", permission="sms:read", order=40)]


@hookimpl
async def customer_timeline(actor: Actor, customer_id: int) -> list[TimelineEntry]:
    from plugins.sms.timeline import entries

    return await entries(actor, customer_id)


@hookimpl
async def reminders(actor: Actor, today: dt.date) -> list[Reminder]:
    from plugins.sms.timeline import failed_reminder

    return await failed_reminder(actor, today)


@hookimpl
async def demo_data(users: dict[str, Any]) -> None:
    from plugins.sms.demo import seed

    await seed(users)


@hookimpl
async def customer_merge(keep_id: int, merge_id: int, actor: Any) -> dict[str, int]:
    """Sent and received messages of the merged customer move to the kept one."""
    from core.customers.duplicates import repoint
    from plugins.sms.tables import SmsInbox, SmsMessage

    return await repoint({"sms_messages": SmsMessage, "sms_inbox": SmsInbox}, keep_id, merge_id)


@hookimpl
async def handover(from_user_id: int, to_user_id: int, actor: Any) -> dict[str, int]:
    from plugins.sms.tables import SmsTemplate

    rows = await SmsTemplate.update({SmsTemplate.owner: to_user_id}).where(
        SmsTemplate.owner == from_user_id).returning(SmsTemplate.id)
    return {"sms_templates": len(rows)} if rows else {}


@hookimpl
async def do_not_contact(numbers: list[str]) -> list[str]:
    from plugins.sms.optout import opted_out

    return sorted(await opted_out(numbers))
