"""销售提醒 through the core reminders hook: close dates near or past, needs due, and performance lines."""

from __future__ import annotations

import datetime as dt

from core.hooktypes import Reminder
from core.perms.actor import Actor
from core.web.i18n import gettext as _
from plugins.sales import access
from plugins.sales.needs import CLOSED_STATES
from plugins.sales.performance import figures
from plugins.sales.settings import current as current_settings
from plugins.sales.tables import Need, Opportunity


async def reminders_for(actor: Actor, today: dt.date) -> list[Reminder]:
    if actor.user_id is None:
        return []
    out: list[Reminder] = []
    if actor.can(access.READ):
        settings = await current_settings()
        mine_open = (Opportunity.owner == actor.user_id) & (Opportunity.outcome == "open")
        soon = await Opportunity.count().where(
            mine_open & (Opportunity.expected_close >= today)
            & (Opportunity.expected_close <= today + dt.timedelta(days=settings.close_warn_days)))
        past = await Opportunity.count().where(mine_open & (Opportunity.expected_close < today))
        out += [
            Reminder(key="sales.close_soon", count=soon,
                     label=_("%(days)s 天内预计成交的销售机会") % {"days": settings.close_warn_days},
                     href=f"/sales/opportunities?view=mine&outcome=open&close_from={today}"
                     f"&close_to={today + dt.timedelta(days=settings.close_warn_days)}", severity="warning"),
            Reminder(key="sales.close_past", label="已过预计成交日期的销售机会", count=past,
                     href=f"/sales/opportunities?view=mine&outcome=open&close_to={today - dt.timedelta(days=1)}",
                     severity="danger"),
        ]
        for period in await figures(actor, today):
            t = period.total
            out.append(Reminder(
                key=f"sales.performance.{period.key}",
                label=f"{period.label}业绩：赢单 ¥{t.won_amount:,}（{t.won} 个）· 新增机会 {t.new_opportunities} · "
                      f"联系 {t.followups} 次",
                count=0, href="/sales/performance"))
    if actor.can(access.NEEDS_READ):
        due = await Need.count().where((Need.owner == actor.user_id) & (Need.next_due <= today)
                                       & Need.state.not_in(list(CLOSED_STATES)))
        out.append(Reminder(key="sales.needs_due", label="到期的客户需求跟进", count=due, href="/sales/needs?due=1",
                            severity="warning"))
    return out
