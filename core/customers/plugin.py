"""客户管理 as a core built-in plugin: every hook the customers module implements."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.hooktypes import CustomerTab, Job, MenuItem, Permission, PluginManifest, Reminder, TimelineEntry
from core.perms.actor import Actor

MANIFEST = PluginManifest(
    name="core-customers", title="客户管理", module=None, description="客户、联系人、联系记录、联系计划与公海"
)

PERMISSIONS = [
    Permission(key="customers:read", label="查看客户", label_en="View customers"),
    Permission(key="customers:create", label="新增客户", label_en="Create customers"),
    Permission(key="customers:edit", label="编辑客户", label_en="Edit customers"),
    Permission(key="customers:delete", label="删除客户", label_en="Delete customers"),
    Permission(key="customers:assign", label="分派客户", label_en="Assign customers"),
    Permission(key="customers:export", label="导出客户", label_en="Export customers"),
    Permission(key="customers:import", label="导入客户", label_en="Import customers", scoped=False),
    Permission(key="customers:pool", label="公海客户（查看与领取）", label_en="Public pool (view and claim)"),
    Permission(key="customers:analysis", label="客户分析", label_en="Customer analysis"),
    Permission(
        key="customers:settings", label="客户设置（类型、字段、公海规则）", label_en="Customer settings", scoped=False
    ),
]


@hookimpl
def piccolo_apps() -> list[str]:
    return ["core.customers.piccolo_app"]


@hookimpl
def permissions() -> list[Permission]:
    return PERMISSIONS


@hookimpl
def menu_items(actor: Actor) -> list[MenuItem]:
    return [
        MenuItem(key="customers", label="我的客户", href="/customers", permission="customers:read", order=10),
        MenuItem(
            key="customers.pool", label="公海客户", href="/customers?view=pool", permission="customers:pool", order=11
        ),
        MenuItem(
            key="customers.contacts", label="联系人", href="/customers/contacts", permission="customers:read", order=12
        ),
        MenuItem(
            key="customers.plans", label="联系计划", href="/customers/plans", permission="customers:read", order=13
        ),
        MenuItem(
            key="customers.followups",
            label="联系记录",
            href="/customers/followups",
            permission="customers:read",
            order=14,
        ),
        MenuItem(
            key="customers.warnings",
            label="预警提示",
            href="/customers/warnings",
            permission="customers:read",
            order=16,
        ),
        MenuItem(
            key="customers.analysis",
            label="客户分析",
            href="/customers/analysis",
            permission="customers:analysis",
            order=17,
        ),
        MenuItem(
            key="customers.import", label="客户导入", href="/customers/import", permission="customers:import", order=18
        ),
        MenuItem(
            key="customers.fields",
            label="自定义字段",
            href="/customers/fields",
            permission="customers:settings",
            section="admin",
            order=31,
        ),
        MenuItem(
            key="customers.pools",
            label="公海规则",
            href="/customers/pools",
            permission="customers:settings",
            section="admin",
            order=30,
        ),
    ]


@hookimpl
def customer_tabs(actor: Actor) -> list[CustomerTab]:
    return [
        CustomerTab(
            key="info", label="基本信息", href="/customers/{id}/tab/info", permission="customers:read", order=1
        ),
        CustomerTab(
            key="contacts", label="联系人", href="/customers/{id}/tab/contacts", permission="customers:read", order=2
        ),
        CustomerTab(
            key="timeline", label="联系记录", href="/customers/{id}/tab/timeline", permission="customers:read", order=3
        ),
    ]


@hookimpl
def route_handlers() -> list[Any]:
    from core.customers.routes_api import API_HANDLERS
    from core.customers.routes_pages import PAGE_HANDLERS

    return [*API_HANDLERS, *PAGE_HANDLERS]


@hookimpl
def template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def jobs() -> list[Job]:
    from core.customers.pool import run_daily

    return [Job(name="customers.pool_recycle", run=run_daily, daily_at="01:30")]


@hookimpl
def settings_sections() -> list[Any]:
    from core.customers.config import SECTION

    return [SECTION]


@hookimpl
async def reminders(actor: Actor, today: dt.date) -> list[Reminder]:
    from core.customers.reminders import reminders_for

    return await reminders_for(actor, today)


@hookimpl
async def customer_timeline(actor: Actor, customer_id: int) -> list[TimelineEntry]:
    from core.customers.activity import core_timeline

    return await core_timeline(actor, customer_id)


@hookimpl
async def handover(from_user_id: int, to_user_id: int, actor: Actor) -> dict[str, int]:
    from core.customers.assign import handover_customers

    return await handover_customers(from_user_id, to_user_id, actor)
