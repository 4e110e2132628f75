"""The sales plugin's hooks (销售管理): opportunities, needs, reminders, hand-over and sales analysis.

Sales analysis is its own licence module (`sales_analysis`, team edition): its menu item is hidden and
its routes answer 403 when the licence does not include it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from core import host
from core.hookspecs import hookimpl
from core.hooktypes import CustomerTab, MenuItem, Permission, PluginManifest, Reminder, SettingsSection, TimelineEntry
from core.perms.actor import Actor

MANIFEST = PluginManifest(name="sales", title="销售管理", version="0.1.0", module="sales",
                          description="销售机会、需求挖掘、销售提醒、销售分析")

PERMISSIONS = [
    Permission(key="opportunities:read", label="查看销售机会", label_en="View opportunities"),
    Permission(key="opportunities:create", label="新增销售机会", label_en="Create opportunities"),
    Permission(key="opportunities:edit", label="编辑销售机会", label_en="Edit opportunities"),
    Permission(key="opportunities:delete", label="删除销售机会", label_en="Delete opportunities"),
    Permission(key="opportunities:assign", label="更换机会负责人", label_en="Reassign opportunities"),
    Permission(key="opportunities:export", label="导出销售机会", label_en="Export opportunities"),
    Permission(key="opportunities:import", label="导入销售机会", label_en="Import opportunities", scoped=False),
    Permission(key="needs:read", label="查看需求挖掘", label_en="View customer needs"),
    Permission(key="needs:edit", label="编辑需求挖掘", label_en="Edit customer needs"),
    Permission(key="sales:analysis", label="销售分析", label_en="Sales analysis"),
    Permission(key="sales:settings", label="销售设置（阶段、来源、需求）", label_en="Sales settings", scoped=False),
]


def analysis_licensed() -> bool:
    return host.current().licence.allows("sales_analysis")


@hookimpl
def piccolo_apps() -> list[str]:
    return ["plugins.sales.piccolo_app"]


@hookimpl
def permissions() -> list[Permission]:
    return PERMISSIONS


@hookimpl
def route_handlers() -> list[Any]:
    from plugins.sales.routes_api import API_HANDLERS
    from plugins.sales.routes_pages import PAGE_HANDLERS

    return [*API_HANDLERS, *PAGE_HANDLERS]


@hookimpl
def template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def settings_sections() -> list[SettingsSection]:
    from plugins.sales.settings import SECTION

    return [SECTION]


@hookimpl
def menu_items(actor: Actor) -> list[MenuItem]:
    items = [
        MenuItem(key="sales.opportunities", label="销售机会", href="/sales/opportunities",
                 permission="opportunities:read", order=30),
        MenuItem(key="sales.needs", label="需求挖掘", href="/sales/needs", permission="needs:read", order=31),
        MenuItem(key="sales.performance", label="销售业绩", href="/sales/performance",
                 permission="opportunities:read", order=32),
    ]
    if analysis_licensed():
        items.append(MenuItem(key="sales.analysis", label="销售分析", href="/sales/analysis",
                              permission="sales:analysis", order=33))
    return items


@hookimpl
def customer_tabs(actor: Actor) -> list[CustomerTab]:
    return [
        CustomerTab(key="opportunities", label="销售机会", href="/sales/customers/{id}/opportunities",
                    permission="opportunities:read", order=20),
        CustomerTab(key="needs", label="需求", href="/sales/customers/{id}/needs", permission="needs:read", order=21),
    ]


@hookimpl
async def customer_timeline(actor: Actor, customer_id: int) -> list[TimelineEntry]:
    from plugins.sales.timeline import entries

    return await entries(actor, customer_id)


@hookimpl
async def reminders(actor: Actor, today: dt.date) -> list[Reminder]:
    from plugins.sales.reminders import reminders_for

    return await reminders_for(actor, today)


@hookimpl
async def customer_references(customer_id: int) -> dict[str, int]:
    from plugins.sales.tables import Need, Opportunity

    return {"销售机会": await Opportunity.count().where(Opportunity.customer == customer_id),
            "客户需求": await Need.count().where(Need.customer == customer_id)}


@hookimpl
async def customer_merge(keep_id: int, merge_id: int, actor: Actor) -> dict[str, int]:
    """Opportunities and needs of the merged customer move to the kept one."""
    from core.customers.duplicates import repoint
    from plugins.sales.tables import Need, Opportunity

    return await repoint({"opportunities": Opportunity, "needs": Need}, keep_id, merge_id)


@hookimpl
async def handover(from_user_id: int, to_user_id: int, actor: Actor) -> dict[str, int]:
    from plugins.sales.handover import hand_over

    return await hand_over(from_user_id, to_user_id, actor)


@hookimpl
async def demo_data(users: dict[str, int]) -> None:
    from plugins.sales.demo import seed

    await seed(users)
