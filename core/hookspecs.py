"""Every hook of Waihubao: the only contract between core and plugins.

A plugin is a module registered under the entry-point group `waihubao.plugins` (built-ins are
registered the same way in pyproject.toml). It carries a `MANIFEST` (`core.hooktypes.PluginManifest`)
and implements any of the hooks below with `@hookimpl`. Call hooks with keyword arguments only.
Hooks returning lists are called on every plugin and their lists are concatenated; `async def`
implementations are awaited (see `core.plugins.collect`).

A plugin may publish hooks of its own for other plugins to implement or call: a module of
`@hookspec` functions named by the plugin module's `HOOKSPECS` attribute (e.g. sms publishes
`sms_send`; orders would publish `orders_on_approved`). Callers use `core.plugins.call_published`,
which answers None when the publishing plugin is absent — plugins never import each other.

An entry point whose name is a licence module key (`core.licence.LICENSED_MODULES`) is blocked
before it is imported when the licence does not include it; its Piccolo app is still migrated, so
data survives a downgrade or expiry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("waihubao")
hookimpl = pluggy.HookimplMarker("waihubao")


@hookspec
def piccolo_apps() -> list[str]:
    """Dotted paths of the plugin's Piccolo `AppConfig` modules, e.g. `["plugins.sales.piccolo_app"]`.

    Each app owns its tables and migrations and lists `core.piccolo_app` among its
    `migration_dependencies`. Collected from *all* installed plugins, licensed or not, by
    `waihubao migrate`.
    """


@hookspec
def route_handlers() -> list[Any]:
    """Litestar route handlers, controllers or routers to mount (pages and `/api/v1/...`).

    Handlers declare what they need with `opt={"permission": "resource:action"}`; the app-wide
    guard checks it. Object-level checks go through `core.perms.scope`.
    """


@hookspec
def template_dirs() -> list[Path]:
    """Directories added to the Jinja2 search path (put templates under a folder named after the plugin)."""


@hookspec
def permissions() -> list[Any]:
    """`core.hooktypes.Permission`s the plugin defines (`resource:action`), shown in the role editor."""


@hookspec
def menu_items(actor: Any) -> list[Any]:
    """`core.hooktypes.MenuItem`s for the navigation; items whose permission the actor lacks are hidden."""


@hookspec
def customer_tabs(actor: Any) -> list[Any]:
    """`core.hooktypes.CustomerTab`s shown on a customer's page (opportunities, calls, orders…)."""


@hookspec
def customer_timeline(actor: Any, customer_id: int) -> list[Any]:
    """`core.hooktypes.TimelineEntry`s for one customer (may be async). Core has already checked that the
    actor may read the customer; a plugin still filters its own rows by its own permission."""


@hookspec
def reminders(actor: Any, today: Any) -> list[Any]:
    """`core.hooktypes.Reminder`s for the reminders hub (销售提醒) and the header badge (may be async)."""


@hookspec
def jobs() -> list[Any]:
    """`core.hooktypes.Job`s run by the scheduler: periodic, idempotent, safe on several servers."""


@hookspec
def background_tasks() -> list[Any]:
    """Async callables (`async def run() -> None`) started in the server's task group for the app's
    lifetime and cancelled at shutdown — e.g. the dialer's in-process agent on a simulated box.
    Not started by tests that build the app with `run_jobs=False`."""


@hookspec
def settings_sections() -> list[Any]:
    """`core.hooktypes.SettingsSection`s: typed settings (a msgspec Struct with defaults) stored in the
    database and edited on the admin settings page. Each field's label and help come from
    `Annotated[T, msgspec.Meta(title=…, description=…)]`; a section's `actions` are buttons under its form
    (e.g. the dialer's "test the S3 connection") that post to a route returning a small HTML fragment."""


@hookspec
def cli_commands() -> list[Any]:
    """`click` commands or groups added to the `waihubao` command line."""


@hookspec
def event_handlers() -> list[Any]:
    """`core.hooktypes.EventHandler`s: subscribe to domain events published with `core.events.publish`."""


@hookspec
def demo_data(users: dict[str, Any]) -> None:
    """Seed the plugin's demo rows (may be async); `users` maps demo usernames to user ids.
    Called by `waihubao demo`, which runs once per database."""


@hookspec
def customer_references(customer_id: int) -> dict[str, int]:
    """How many of this plugin's records belong to the customer and must keep it (may be async), by a
    label users understand, e.g. {"销售机会": 3}. A non-zero count stops the customer being deleted
    (core answers 409 naming them; merging the customer into another is the way out)."""


@hookspec
def phone_actions(actor: Any) -> list[Any]:
    """`core.hooktypes.ActionLink`s offered on every phone number the CRM shows (click-to-call 拨打,
    发短信…). Core renders each number in local format, linked to the first action the actor may use,
    with the others beside it; `href` holds `{number}` (the E.164 number, URL-encoded)."""


@hookspec
def customer_list_actions(actor: Any) -> list[Any]:
    """`core.hooktypes.ActionLink`s offered on the customers list for the ticked customers or everything
    the current filter matches (发起外呼, 群发短信…). The action's page gets the selection as GET parameters;
    `core.customers.selection.from_params` reads them. Shown only with the link's permission."""


@hookspec
def do_not_contact(numbers: list[str]) -> list[str]:
    """Which of these E.164 numbers this plugin's lists say must never be called or texted (may be async):
    the dialer's 谢绝来电 list and "不要再打" dispositions, SMS opt-outs (退订)… Callers ask through
    `core.do_not_contact.blocked`, which unions every plugin's answer, so a callee who opted out on one
    channel is left alone on all of them. A plugin that adds numbers calls `core.do_not_contact.announce`
    (event `do_not_contact.added`) so work already queued — a running campaign — drops them at once."""


@hookspec
def customer_merge(keep_id: int, merge_id: int, actor: Any) -> dict[str, int]:
    """Two customers are being merged: move this plugin's rows from `merge_id` to `keep_id`, inside the
    caller's write transaction (may be async). Returns counts per kind of record moved."""


@hookspec
def handover(from_user_id: int, to_user_id: int, actor: Any) -> dict[str, int]:
    """Move everything a departing person owns in this plugin to another person (人员调换), inside the
    caller's write transaction (may be async). Returns counts per kind of record moved."""
