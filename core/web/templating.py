"""Jinja2 set-up: gettext, local formats (dates, ¥, phone numbers), the menu and the CSRF token."""

from __future__ import annotations

from typing import Any

from litestar.plugins.jinja import JinjaTemplateEngine

from core import host
from core.hooktypes import MenuItem
from core.plugins import collect_sync
from core.web import i18n


def menu(actor: Any, section: str = "main") -> list[MenuItem]:
    if actor is None:
        return []
    items = [m for m in collect_sync(host.current().pm.hook.menu_items, actor=actor) if m.section == section]
    return sorted((m for m in items if m.permission is None or actor.can(m.permission)), key=lambda m: m.order)


def csrf_token(request: Any) -> str:
    auth = request.scope.get("auth") or {}
    return auth.get("csrf", "")


def configure_jinja(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        menu=menu, csrf_token=csrf_token, languages=i18n.LANGUAGES, current_language=i18n.current_language,
    )
    env.filters.update(
        datetime=i18n.fmt_datetime, date=i18n.fmt_date, money=i18n.fmt_money, number=i18n.fmt_number,
    )
