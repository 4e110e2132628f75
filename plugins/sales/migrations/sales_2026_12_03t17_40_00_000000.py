"""Covering indexes for the scoped list and the analysis (hand-written: Piccolo has no composite indexes).

A manager's scope is `owner = ? OR department IN (…)`; with these two indexes both arms of the OR are
index-only on SQLite and PostgreSQL for the funnel, win-rate and period queries, and the conversion
query reads the stage history from its own covering index.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from plugins.sales.tables import Opportunity

ID = "2026-12-03T17:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "covering indexes for scope and analysis"

INDEXES = {
    "sales_opp_scope_owner": "sales_opportunities (owner, department, stage, outcome, start_date, amount_fen, "
                             "weighted_x100, cycle_days)",
    "sales_opp_scope_dept": "sales_opportunities (department, owner, stage, outcome, start_date, amount_fen, "
                            "weighted_x100, cycle_days)",
    "sales_history_stage": "sales_opportunity_history (opportunity, field, to_value)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def create() -> None:
        for name, target in INDEXES.items():
            await Opportunity.raw(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    async def drop() -> None:
        for name in INDEXES:
            await Opportunity.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
