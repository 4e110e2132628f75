"""`waihubao licence …`: show, verify and install licences; `issue` and `keygen` are vendor tools."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import click

from core.licence import (
    EDITION_MODULES,
    Edition,
    LicenceError,
    LicencePayload,
    LicenceStatus,
    Licensee,
    generate_keypair,
    install,
    issue_licence,
    licence_path,
    load_installed,
    load_private_key,
    trusted_keys,
    verify_licence,
)

# The main CLI may put a ``Callable[[LicencePayload], None]`` under this key in ``ctx.meta`` to be
# called after `licence install` succeeds (for the audit log).
ON_INSTALLED_META_KEY = "waihubao.licence.on_installed"

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _summary(payload: LicencePayload) -> list[str]:
    who = ", ".join(x for x in (payload.licensee.name, payload.licensee.company, payload.licensee.email) if x)
    seats = f"{payload.seats}" + (f" + {payload.extra_seats}" if payload.extra_seats else "")
    return [
        f"licence id:  {payload.lid}",
        f"key id:      {payload.kid}",
        f"edition:     {payload.edition}",
        f"seats:       {seats}",
        f"modules:     {', '.join(sorted(payload.modules)) or '-'}",
        f"limits:      {', '.join(f'{k}={v}' for k, v in sorted(payload.limits.items())) or '-'}",
        f"licensee:    {who or '-'}",
        f"issued:      {payload.issued_at}",
        f"expires:     {payload.expires_at or 'never'}",
        f"grace days:  {payload.grace_days}",
    ]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"无法读取 {path} / cannot read {path}: {exc}") from None


@click.group("licence")
def licence() -> None:
    """Edition licence (版本许可证)."""


@licence.command("show")
def show_cmd() -> None:
    """Show the licence in force."""
    status: LicenceStatus = load_installed(date.today())
    click.echo(f"file:        {licence_path()}")
    if status.payload is None:
        click.echo("licence:     none (personal edition defaults)")
        click.echo(f"edition:     {status.edition}")
        click.echo(f"seats:       {status.seats}")
        click.echo(f"modules:     {', '.join(sorted(status.modules))}")
    else:
        for line in _summary(status.payload):
            click.echo(line)
    days = "" if status.days_left is None else f" ({status.days_left} days left)"
    click.echo(f"phase:       {status.phase}{days}")
    if status.message:
        click.echo(status.message)


@licence.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def verify_cmd(file: Path) -> None:
    """Verify a licence file without installing it."""
    try:
        payload = verify_licence(_read_text(file), trusted_keys(), date.today())
    except LicenceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("OK")
    for line in _summary(payload):
        click.echo(line)


@licence.command("install")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def install_cmd(ctx: click.Context, file: Path) -> None:
    """Verify a licence file and make it the licence in force."""
    on_installed: Callable[[LicencePayload], None] | None = ctx.meta.get(ON_INSTALLED_META_KEY)
    try:
        payload = install(_read_text(file), date.today(), on_installed=on_installed)
    except LicenceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已安装 / installed: {licence_path()}")
    for line in _summary(payload):
        click.echo(line)


def _parse_limits(values: tuple[str, ...]) -> dict[str, int]:
    limits: dict[str, int] = {}
    for item in values:
        key, sep, number = item.partition("=")
        if not sep or not key or not number.isdigit():
            raise click.BadParameter(f"expected KEY=N, got {item!r}", param_hint="--limit")
        limits[key] = int(number)
    return limits


@licence.command("issue")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Vendor private key (PEM).",
)
@click.option("--kid", required=True, help="Key id of that private key, as the customer's build trusts it.")
@click.option("--edition", required=True, type=click.Choice([e.value for e in Edition]))
@click.option("--seats", required=True, type=int)
@click.option("--extra-seats", default=0, show_default=True, type=int)
@click.option(
    "--module", "modules", multiple=True, help="Module key; repeat. Default: the edition's modules."
)
@click.option("--limit", "limits", multiple=True, help="KEY=N, e.g. sms_per_month=1000; repeat.")
@click.option("--licensee-name", default="")
@click.option("--company", default="")
@click.option("--email", default="")
@click.option("--issued", type=_DATE, default=None, help="YYYY-MM-DD, default today.")
@click.option("--expires", type=_DATE, default=None, help="YYYY-MM-DD (last valid day); default never.")
@click.option("--grace-days", default=14, show_default=True, type=int)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the licence here instead of stdout.",
)
def issue_cmd(
    key_file: Path,
    kid: str,
    edition: str,
    seats: int,
    extra_seats: int,
    modules: tuple[str, ...],
    limits: tuple[str, ...],
    licensee_name: str,
    company: str,
    email: str,
    issued: datetime | None,
    expires: datetime | None,
    grace_days: int,
    out: Path | None,
) -> None:
    """Sign a licence (vendor only; the private key never ships)."""
    ed = Edition(edition)
    try:
        payload = LicencePayload(
            kid=kid,
            lid=str(uuid.uuid4()),
            edition=ed,
            seats=seats,
            extra_seats=extra_seats,
            modules=sorted(modules) if modules else sorted(EDITION_MODULES[ed]),
            limits=_parse_limits(limits),
            licensee=Licensee(name=licensee_name, company=company, email=email),
            issued_at=issued.date() if issued else date.today(),
            expires_at=expires.date() if expires else None,
            grace_days=grace_days,
        )
        text = issue_licence(payload, load_private_key(key_file))
    except LicenceError as exc:
        raise click.ClickException(str(exc)) from None
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"written: {out}", err=True)
    for line in _summary(payload):
        click.echo(line, err=True)


@licence.command("keygen")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the new private key (PEM, mode 0600; never overwritten).",
)
@click.option("--kid", default="local", show_default=True, help="Key id to publish with the public key.")
def keygen_cmd(out: Path, kid: str) -> None:
    """Make a signing key pair and print the public-key line to trust."""
    try:
        pem, line = generate_keypair(kid)
    except LicenceError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{out} 已存在，不会覆盖 / {out} exists; not overwriting") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    click.echo(line)
