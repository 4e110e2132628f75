"""The declarative values hooks return. Plain msgspec Structs: easy to build, easy to test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec


class PluginManifest(msgspec.Struct, frozen=True, kw_only=True):
    """Every plugin module carries one as `MANIFEST`.

    `module` is the licence module key that switches the plugin on (None = always on, as core's
    own features and third-party plugins outside the licence catalogue are).
    """

    name: str
    title: str
    version: str = "0.1.0"
    module: str | None = None
    description: str = ""


class Permission(msgspec.Struct, frozen=True, kw_only=True):
    """A `resource:action` string a role can grant, with a scope, and its labels for the role editor."""

    key: str
    label: str
    label_en: str = ""
    scoped: bool = True  # False for actions without records (e.g. "settings:edit"): own/all mean the same


class MenuItem(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str
    href: str
    permission: str | None = None  # hidden unless the actor holds it
    section: str = "main"  # "main" (top navigation) or "admin" (系统设置)
    order: int = 100
    icon: str = ""


class CustomerTab(msgspec.Struct, frozen=True, kw_only=True):
    """A tab on the customer page, rendered from `href` (an htmx partial, `{id}` is the customer id)."""

    key: str
    label: str
    href: str
    permission: str | None = None
    order: int = 100


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One row of a customer's timeline, contributed by core or a plugin."""

    at: Any  # datetime (aware, UTC)
    kind: str
    title: str
    summary: str = ""
    href: str | None = None
    actor_name: str = ""


class Reminder(msgspec.Struct, frozen=True, kw_only=True):
    """A line in the reminders hub (销售提醒) with its count; the header badge sums `count`."""

    key: str
    label: str
    count: int
    href: str
    severity: str = "info"  # info | warning | danger


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """Periodic work. `every` seconds, or daily at `daily_at` ("HH:MM", Asia/Shanghai by default)."""

    name: str
    run: Callable[[], Awaitable[None]]
    every: float | None = None
    daily_at: str | None = None


class SettingsSection(msgspec.Struct, frozen=True, kw_only=True):
    """A typed settings group stored in the database; `schema` is a msgspec Struct type with defaults.

    The admin settings page labels each field from the Struct's `Annotated[T, msgspec.Meta(title="中文标签",
    description="一句说明")]`: zh-CN msgids translated by the plugin's catalog ("%" is plain text in them); a
    field without a title shows its name. `actions` are buttons under the section's form: each `hx-post`s to
    its `href` (with the CSRF header), which answers with a small HTML fragment shown next to the button
    (e.g. "✓ 连接正常"); one with a `permission` shows only to who holds it.
    """

    key: str
    label: str
    schema: type
    permission: str = "settings:edit"
    actions: list[ActionLink] = msgspec.field(default_factory=list)


class EventHandler(msgspec.Struct, frozen=True, kw_only=True):
    """Subscribes `handle(payload)` to a named domain event (e.g. "user.disabled")."""

    event: str
    handle: Callable[[Any], Awaitable[None] | None]


class DoNotContactAdded(msgspec.Struct, frozen=True, kw_only=True):
    """Payload of the `do_not_contact.added` event: numbers (E.164) that just joined a plugin's list."""

    numbers: list[str]
    source: str  # the list's owner and why, e.g. "sms:reply", "dialer:disposition"


class ActionLink(msgspec.Struct, frozen=True, kw_only=True):
    """A link a plugin adds to a core page: on every phone number (`phone_actions`; `href` holds
    "{number}") or on the customers list (`customer_list_actions`; the selection is sent as GET
    parameters, see `core.customers.selection`)."""

    key: str
    label: str  # zh-CN msgid, e.g. "拨打"
    href: str  # "/dialer/dial?number={number}", "/dialer"
    permission: str | None = None
    order: int = 100
