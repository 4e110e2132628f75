"""Phone numbers in pages: local format, and the actions plugins offer on them (click-to-call…)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jinja2 import pass_context
from markupsafe import Markup, escape

from core import host
from core.customers.phones import display
from core.hooktypes import PhoneAction
from core.plugins import collect_sync
from core.web import i18n


def actions_for(actor: Any) -> list[PhoneAction]:
    if actor is None:
        return []
    found = collect_sync(host.current().pm.hook.phone_actions, actor=actor)
    return sorted((a for a in found if a.permission is None or actor.can(a.permission)), key=lambda a: a.order)


def render(number: str, actions: list[PhoneAction]) -> Markup:
    shown = escape(display(number))
    if not number or not actions:
        return Markup(f'<span class="phone">{shown}</span>')
    first, *rest = actions
    url = quote(number, safe="")
    label = escape(i18n.gettext(first.label))
    html = f'<a class="phone" href="{escape(first.href.format(number=url))}" title="{label}">{shown}</a>'
    for a in rest:
        html += (f' <a class="phone-action" href="{escape(a.href.format(number=url))}">'
                 f'{escape(i18n.gettext(a.label))}</a>')
    return Markup(html)


@pass_context
def phone(context: Any, number: str | None) -> Markup:
    """`{{ p|phone }}`: the number in local format, linked to the actions the signed-in user may use."""
    request = context.get("request")
    actor = request.scope.get("user") if request is not None else None
    return render(number or "", actions_for(actor))


@pass_context
def phones(context: Any, numbers: list[str] | None, sep: str = "，") -> Markup:
    request = context.get("request")
    actor = request.scope.get("user") if request is not None else None
    actions = actions_for(actor)
    return Markup(escape(sep)).join(render(n, actions) for n in numbers or [])
