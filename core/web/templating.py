"""Jinja2 set-up: gettext, local formats (dates, ¥, phone numbers), the menu and the CSRF token."""

from __future__ import annotations

from typing import Any

import msgspec
from jinja2 import pass_context
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine
from markupsafe import Markup

from core import host
from core.customers.phones import display
from core.hooktypes import MenuItem
from core.plugins import collect_sync, manifest_of
from core.web import action_links, i18n


def menu(actor: Any, section: str = "main") -> list[MenuItem]:
    if actor is None:
        return []
    items = [m for m in collect_sync(host.current().pm.hook.menu_items, actor=actor) if m.section == section]
    return sorted((m for m in items if m.permission is None or actor.can(m.permission)), key=lambda m: m.order)


class MenuGroup(msgspec.Struct, frozen=True):
    """One module's menu items under its title (a dropdown in the top navigation)."""

    title: str
    items: list[MenuItem]

    @property
    def href(self) -> str:
        return self.items[0].href


def menu_groups(actor: Any) -> list[MenuGroup]:
    """The main menu grouped by the plugin that contributes it, in the order of each group's first item."""
    if actor is None:
        return []
    pm = host.current().pm
    groups: list[MenuGroup] = []
    for impl in pm.hook.menu_items.get_hookimpls():
        kwargs = {"actor": actor} if "actor" in impl.argnames else {}
        items = [m for m in impl.function(**kwargs) or [] if m.section == "main"
                 and (m.permission is None or actor.can(m.permission))]
        if items:
            groups.append(MenuGroup(title=manifest_of(impl.plugin).title, items=sorted(items, key=lambda m: m.order)))
    return sorted(groups, key=lambda g: g.items[0].order)


def csrf_token(request: Any) -> str:
    auth = request.scope.get("auth") or {}
    return auth.get("csrf", "")


@pass_context
def _gettext(context: Context, message: str, /, **variables: Any) -> str:
    """`_(…)` in templates. Jinja's own newstyle gettext `%`-formats every result, so a label that comes from
    data and says "3%" (a settings title, a menu label) broke the whole page; only a call with variables is
    formatted here."""
    text = i18n.gettext(message)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables if variables else text


def configure_jinja(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = _gettext
    env.globals.update(
        menu=menu, menu_groups=menu_groups, csrf_token=csrf_token, languages=i18n.LANGUAGES,
        current_language=i18n.current_language, customer_list_actions=action_links.customer_list_actions,
    )
    env.filters.update(
        datetime=i18n.fmt_datetime, date=i18n.fmt_date, money=i18n.fmt_money, number=i18n.fmt_number,
        phone=action_links.phone, phones=action_links.phones, phone_text=display,
    )
