"""Links plugins add to core pages: actions on phone numbers (local format, click-to-call…) and on the
customers list (外呼, 群发短信 for the ticked or filtered customers)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jinja2 import pass_context
from markupsafe import Markup, escape

from core import host
from core.customers.phones import display
from core.hooktypes import ActionLink
from core.plugins import collect_sync
from core.web import i18n


def allowed_links(hook_name: str, actor: Any) -> list[ActionLink]:
    """The `ActionLink`s a hook contributes that this actor may follow, in their order."""
    if actor is None:
        return []
    found = collect_sync(getattr(host.current().pm.hook, hook_name), actor=actor)
    return sorted((a for a in found if a.permission is None or actor.can(a.permission)), key=lambda a: a.order)


def actions_for(actor: Any) -> list[ActionLink]:
    return allowed_links("phone_actions", actor)


def customer_list_actions(actor: Any) -> list[ActionLink]:
    return allowed_links("customer_list_actions", actor)


def render(number: str, actions: list[ActionLink]) -> Markup:
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
