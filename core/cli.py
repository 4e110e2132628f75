"""`waihubao …`: serve, migrate, demo, users, licence, audit, backup — plus what plugins add."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import anyio
import click

from core import host
from core.plugins import collect_sync


def _run(coro_fn, *args):
    return anyio.run(coro_fn, *args)


async def _with_db(coro):
    from core.db.engine import close_engine, open_engine

    await open_engine()
    try:
        return await coro
    finally:
        await close_engine()


@click.group(help="外呼宝 Waihubao — CRM and auto-dialer.")
def cli() -> None:
    pass


@cli.command(help="Run the web server (and, with --simulated-box, an in-process agent on a simulated box).")
@click.option("--host", "bind", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: $WAIHUBAO_PORT or 8000.")
@click.option("--simulated-box", is_flag=True, help="Start the dialer's agent on a simulated EV-FWT 785.")
def serve(bind: str, port: int | None, simulated_box: bool) -> None:
    import uvicorn

    from core.db.migrations import UnmigratedDatabase, ensure_migrated

    port = port or int(os.environ.get("WAIHUBAO_PORT", "8000"))
    if simulated_box:
        os.environ["WAIHUBAO_SIMULATED_BOX"] = "1"
    try:
        _run(_with_db, ensure_migrated())
    except UnmigratedDatabase as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"外呼宝 serving on http://{bind}:{port}  (Ctrl-C to stop)")
    uvicorn.run("core.web.app:create_app", factory=True, host=bind, port=port, workers=1, log_config=None,
                access_log=False, proxy_headers=False)


@cli.command(help="Apply database migrations of core and every installed plugin; seed built-in roles.")
def migrate() -> None:
    from core.db.migrations import migrate as run_migrate
    from core.perms.builtin_roles import sync_builtin_roles

    async def go():
        ran = await run_migrate()
        added = await sync_builtin_roles(host.current().pm)
        return ran, added

    ran, added = _run(_with_db, go())
    click.echo(f"migrations applied: {len(ran)}" + (f" ({', '.join(ran)})" if ran else "") +
               f"; role grants added: {added}")


@cli.command(help="Seed demo data once (departments, users, sample records) and print the demo logins.")
def demo() -> None:
    from core.demo import DEMO_USERS, demo_usernames, ensure_demo_licence, seed_demo

    note = ensure_demo_licence(host.today())
    if note:
        click.echo(note)
    users = _run(_with_db, seed_demo())
    click.echo("demo data seeded" if users is not None else "demo data already present")
    present = _run(_with_db, demo_usernames())
    click.echo("demo logins (用户名 / 密码):")
    for username, display, password, role, _dept in DEMO_USERS:
        if username in present:
            click.echo(f"  {username:<8} {password:<14} {role:<8} {display}")


@cli.group(help="Users.")
def user() -> None:
    pass


@user.command("create", help="Create a user (seats are enforced).")
@click.argument("name")
@click.option("--password", required=True)
@click.option("--role", "roles", multiple=True, default=["sales"], show_default=True)
@click.option("--department", default=None, help="Department name or id.")
@click.option("--display-name", default="")
def user_create(name: str, password: str, roles: tuple[str, ...], department: str | None, display_name: str) -> None:
    from core.org.tables import Department
    from core.org.users import UserError, create_user
    from core.perms.actor import system_actor

    async def go():
        dept_id = None
        if department:
            match = Department.id == int(department) if department.isdigit() else Department.name == department
            row = await Department.select(Department.id).where(match).first()
            if row is None:
                raise UserError(f"部门不存在 / no such department: {department}")
            dept_id = row["id"]
        return await create_user(username=name, password=password, display_name=display_name,
                                 role_keys=list(roles), department_id=dept_id, licence=host.current().licence,
                                 actor=system_actor("cli"))

    try:
        user_id = _run(_with_db, go())
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {name} created (id {user_id})")


@cli.group(help="The audit log (操作日志).")
def audit() -> None:
    pass


@audit.command("verify", help="Walk the hash chain; report the first row changed or removed.")
def audit_verify() -> None:
    from core.audit.log import verify

    result = _run(_with_db, verify())
    if result.ok:
        click.echo(f"OK: {result.checked} rows verified")
    else:
        click.echo(f"BROKEN at seq {result.first_broken_seq}: {result.reason} ({result.checked} rows good before it)")
        sys.exit(1)


@audit.command("purge", help="Delete audit rows older than N days (the chain stays verifiable).")
@click.option("--days", type=click.IntRange(min=1), required=True)
def audit_purge(days: int) -> None:
    from core.audit.log import purge_before
    from core.perms.actor import system_actor

    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    count = _run(_with_db, purge_before(cutoff, system_actor("cli")))
    click.echo(f"purged {count} rows older than {days} days")


@cli.command(help="Back up the database to FILE (online; SQLite backup API or pg_dump).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(file: Path) -> None:
    from core.backup import BackupError, backup_to

    try:
        target = _run(backup_to, file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written: {target} ({target.stat().st_size} bytes)")


@cli.command(help="Restore the database from FILE. Stop the server first.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(file: Path, yes: bool) -> None:
    from core.backup import BackupError, restore_from

    if not yes:
        click.confirm("这会覆盖当前数据库 / this replaces the current database. Continue?", abort=True)
    try:
        _run(restore_from, file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored from {file}")


def build_cli() -> click.Group:
    """The CLI with every enabled plugin's commands attached."""
    for command in collect_sync(host.current().pm.hook.cli_commands):
        if command.name not in cli.commands:
            cli.add_command(command)
    return cli


def main() -> None:
    build_cli()(prog_name="waihubao")
