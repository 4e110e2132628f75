"""The sales plugin's tables: 销售机会, their stage/state history, 需求挖掘, follow-up links, day counters.

Money is kept as integer fen (`amount_fen`, 1/100 yuan) so sums are exact on SQLite too (Piccolo's
SQLite `Numeric` goes through float); `weighted_x100` = amount_fen × probability is kept on every
write so the funnel's weighted amount is one exact integer SUM on both engines. Every foreign key
states its `on_delete`: a customer with opportunities or needs cannot be deleted silently.
"""

from piccolo.columns import (
    BigInt,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from core.auth.tables import User
from core.customers.tables import Contact, Customer, Followup
from core.org.tables import Department


class Opportunity(Table, tablename="sales_opportunities"):
    """销售机会."""

    number = Varchar(length=20, unique=True)  # XS + YYYYMMDD + 5-digit sequence of the day
    name = Varchar(length=200)
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)
    start_date = Date()
    expected_close = Date(null=True, default=None, index=True)
    stage = Varchar(length=32)
    state = Varchar(length=16, default="跟进中", index=True)  # 跟进中 | 已完成 | 已放弃 | 搁置挂起
    outcome = Varchar(length=8, default="open")  # open | won | lost (derived from stage/state)
    source = Varchar(length=64, default="")
    importance = Varchar(length=16, default="")
    type = Varchar(length=64, default="")
    probability = Integer(default=0)  # 0–100
    amount_fen = BigInt(default=0)
    weighted_x100 = BigInt(default=0)  # amount_fen × probability
    needs = Text(default="[]")  # JSON list of need labels (multi-choice from settings)
    notes = Text(default="")
    custom = Text(default="{}")  # JSON object of custom fields
    search_text = Text(default="")  # lower-cased number, name and customer name for keyword search
    # owner/department lead the two covering indexes of migration 2026-12-03T17:40 (Piccolo has no composite
    # indexes); single-column indexes here would tempt SQLite into full scans in index order for GROUP BY
    owner = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.restrict)
    closed_on = Date(null=True, default=None, index=True)
    cycle_days = Integer(null=True, default=None)  # closed_on − start_date, kept when the outcome is decided
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(index=True)
    updated_at = Timestamptz()


class StageHistory(Table, tablename="sales_opportunity_history"):
    """Every stage or state change (and the creation) of an opportunity: who and when."""

    opportunity = ForeignKey(Opportunity, on_delete=OnDelete.restrict, index=True)
    field = Varchar(length=8)  # stage | state
    from_value = Varchar(length=32, null=True, default=None)
    to_value = Varchar(length=32, index=True)
    user = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz(index=True)


class Need(Table, tablename="sales_needs"):
    """需求挖掘: a customer need with a reminder cycle."""

    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)
    title = Varchar(length=200)
    type = Varchar(length=64, default="")
    state = Varchar(length=16, default="待跟进", index=True)  # 待跟进 | 跟进中 | 已满足 | 已放弃
    content = Text(default="")
    cycle_days = Integer(default=0)  # remind every N days; 0 = no cycle
    next_due = Date(null=True, default=None, index=True)
    last_done = Date(null=True, default=None)
    owner = ForeignKey(User, null=True, on_delete=OnDelete.restrict, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.restrict, index=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class FollowupLink(Table, tablename="sales_followup_links"):
    """A follow-up (联系记录) linked to an opportunity of the same customer."""

    opportunity = ForeignKey(Opportunity, on_delete=OnDelete.restrict, index=True)
    followup = ForeignKey(Followup, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz()


class DayCounter(Table, tablename="sales_day_counters"):
    """The last opportunity number handed out per day (`day` = YYYYMMDD)."""

    day = Varchar(length=8, unique=True)
    last = Integer(default=0)


ALL_TABLES: list[type[Table]] = [Opportunity, StageHistory, Need, FollowupLink, DayCounter]
