"""`waihubao demo`: seed a demo organisation once (idempotent), and for a demo install without a
licence, a local demo key and a 90-day team licence so every module can be tried.

The demo key is generated on this machine under `var/` and trusted only through
`WAIHUBAO_LICENCE_TRUSTED_KEYS` (set by `make run`); it is never the vendor's key.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import msgspec

from core import host
from core.auth.tables import User
from core.db import write_tx
from core.licence import (
    EDITION_MODULES,
    Edition,
    LicencePayload,
    Licensee,
    generate_keypair,
    install,
    issue_licence,
    licence_path,
    load_private_key,
)
from core.org.tables import Department
from core.org.users import create_user
from core.perms.actor import system_actor
from core.plugins import collect
from core.settings.tables import Setting

DEMO_MARK = "demo.seeded"
DEMO_USERS = [
    # username, display name, password, role, department
    ("admin", "系统管理员", "admin@2026", "admin", "总部"),
    ("wangjl", "王经理", "manager@2026", "manager", "销售一部"),
    ("lixs", "李销售", "sales@2026", "sales", "销售一部"),
    ("zhaoxs", "赵销售", "sales@2026", "sales", "销售二部"),
]


def ensure_demo_licence(today: dt.date) -> str | None:
    """Install a demo team licence signed by a local key, when none is installed. Returns a note."""
    keys_file = os.environ.get("WAIHUBAO_LICENCE_TRUSTED_KEYS")
    if licence_path().exists() or not keys_file:
        return None
    key_path = Path(keys_file).with_name("demo-licence-key.pem")
    if not key_path.exists():
        pem, public_line = generate_keypair("demo")
        key_path.parent.mkdir(parents=True, exist_ok=True)
        key_path.write_bytes(pem)
        key_path.chmod(0o600)
        Path(keys_file).write_text(f"# demo key made by `waihubao demo` on this machine\n{public_line}\n")
    payload = LicencePayload(
        kid="demo", lid=str(uuid.uuid4()), edition=Edition.TEAM, seats=10,
        modules=sorted(EDITION_MODULES[Edition.TEAM]), licensee=Licensee(name="演示", company="外呼宝演示公司"),
        issued_at=today, expires_at=today + dt.timedelta(days=90),
    )
    install(issue_licence(payload, load_private_key(key_path)), today)
    host.reset()
    return "已安装 90 天演示团队版许可证 / installed a 90-day demo team licence"


async def demo_usernames() -> set[str]:
    rows = await User.select(User.username).where(User.username.is_in([u[0] for u in DEMO_USERS]))
    return {r["username"] for r in rows}


async def seed_demo() -> dict[str, int] | None:
    """Seed departments, users and plugin demo data once; returns the demo users, or None if already seeded."""
    if await Setting.exists().where(Setting.key == DEMO_MARK):
        return None
    h = host.current()
    actor = system_actor("demo")
    async with write_tx():
        hq = (await Department.insert(Department(name="总部", created_at=dt.datetime.now(dt.UTC)))
              .returning(Department.id))[0]["id"]
        depts = {"总部": hq}
        for name in ("销售一部", "销售二部"):
            depts[name] = (await Department.insert(Department(name=name, parent=hq, created_at=dt.datetime.now(dt.UTC)))
                           .returning(Department.id))[0]["id"]
    users: dict[str, int] = {}
    for username, display, password, role, dept in DEMO_USERS:
        existing = await User.select(User.id).where(User.username == username).first()
        if existing:
            users[username] = existing["id"]
            continue
        if len(users) >= h.licence.seats:
            break
        users[username] = await create_user(username=username, password=password, display_name=display,
                                            role_keys=[role], department_id=depts[dept], licence=h.licence,
                                            actor=actor)
    await collect(h.pm.hook.demo_data, users=users)
    async with write_tx():
        await Setting.insert(Setting(key=DEMO_MARK, value=msgspec.json.encode(users).decode(),
                                     updated_at=dt.datetime.now(dt.UTC)))
    return users
