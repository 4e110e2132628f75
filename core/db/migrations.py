"""Running Piccolo migrations for core and every installed plugin, and checking none is pending."""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration


class UnmigratedDatabase(RuntimeError):
    pass


async def migrate(quiet: bool = True) -> list[str]:
    """Apply every pending migration; returns the ids that ran."""
    before = await pending()  # also creates the migration table
    out = io.StringIO()
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
        result = await run_forwards(app_name="all")
    if not result.success:
        raise UnmigratedDatabase(f"迁移失败 / migration failed: {result.message}")
    return [name for _, name in before]


async def pending() -> list[tuple[str, str]]:
    """(app, migration id) pairs not yet applied, in order."""
    manager = BaseMigrationManager()
    # Piccolo's own check looks for a `migration` table in any schema; create ours where we are.
    await Migration.create_table(if_not_exists=True)
    todo: list[tuple[str, str]] = []
    for app_name in manager.get_sorted_app_names():
        app_config = manager.get_app_config(app_name)
        modules = manager.get_migration_modules(app_config.resolved_migrations_folder_path)
        ran = set(await Migration.get_migrations_which_ran(app_name=app_name))
        todo.extend((app_name, mid) for mid in sorted(manager.get_migration_ids(modules)) if mid not in ran)
    return todo


async def ensure_migrated() -> None:
    todo = await pending()
    if todo:
        names = ", ".join(f"{app}:{mid}" for app, mid in todo[:5])
        raise UnmigratedDatabase(
            f"数据库尚未迁移，请先运行 `waihubao migrate`。/ The database is not migrated; run "
            f"`waihubao migrate` first. Pending: {names}{' …' if len(todo) > 5 else ''}"
        )
