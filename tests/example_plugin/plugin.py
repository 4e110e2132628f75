"""A plugin living in the test suite: it adds a route, a table, a permission, a menu item — and one
implementation of every other hook — through hooks alone, as a third-party package would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import click
import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Template

from core.hookspecs import hookimpl
from core.hooktypes import (
    ActionLink,
    CustomerTab,
    EventHandler,
    Job,
    MenuItem,
    Permission,
    PluginManifest,
    Reminder,
    SettingsSection,
    TimelineEntry,
)
from core.perms.scope import get_in_scope, scope_where
from core.web.responses import actor_of, page
from tests.example_plugin.tables import ExampleNote

MANIFEST = PluginManifest(name="example", title="示例插件", version="9.9.9")
SEEN: dict[str, list] = {"events": [], "jobs": [], "demo": [], "handover": [], "background": []}


class NoteIn(msgspec.Struct):
    text: str


class NoteOut(msgspec.Struct):
    id: int
    text: str
    owner: int | None


class ExampleSettings(msgspec.Struct, kw_only=True):
    greeting: str = "你好"
    repeat: Annotated[int, msgspec.Meta(title="重复 (100% = 每次)", description="50% 表示一半")] = 1


@get("/api/v1/example/notes", opt={"permission": "example:read"})
async def list_notes(request: Request) -> list[NoteOut]:
    actor = actor_of(request)
    clause = await scope_where(actor, "example:read", owner=ExampleNote.owner, department=ExampleNote.department)
    query = ExampleNote.select()
    if clause is not None:
        query = query.where(clause)
    return [NoteOut(id=r["id"], text=r["text"], owner=r["owner"]) for r in await query]


@get("/api/v1/example/notes/{note_id:int}", opt={"permission": "example:read"})
async def get_note(request: Request, note_id: FromPath[int]) -> NoteOut:
    """One note, or 404 when it does not exist or lies outside the caller's scope."""
    row = await get_in_scope(actor_of(request), "example:read", ExampleNote, note_id,
                             owner=ExampleNote.owner, department=ExampleNote.department)
    return NoteOut(id=row["id"], text=row["text"], owner=row["owner"])


@post("/api/v1/example/notes", opt={"permission": "example:read"}, status_code=201)
async def create_note(request: Request, data: JSONBody[NoteIn]) -> NoteOut:
    actor = actor_of(request)
    rows = await ExampleNote.insert(ExampleNote(owner=actor.user_id, department=actor.department_id,
                                                text=data.text)).returning(ExampleNote.id)
    return NoteOut(id=rows[0]["id"], text=data.text, owner=actor.user_id)


@get("/example", include_in_schema=False, opt={"permission": "example:read"})
async def example_page(request: Request) -> Template:
    return page("example/page.html", request)


async def _job() -> None:
    SEEN["jobs"].append("ran")


@click.command("example-hello")
def hello() -> None:
    click.echo("hello from the example plugin")


@hookimpl
def piccolo_apps() -> list[str]:
    return ["tests.example_plugin.piccolo_app"]


@hookimpl
def route_handlers() -> list:
    return [list_notes, get_note, create_note, example_page]


@hookimpl
def template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def permissions() -> list[Permission]:
    return [Permission(key="example:read", label="示例读取", label_en="Read examples")]


@hookimpl
def menu_items(actor) -> list[MenuItem]:
    return [MenuItem(key="example", label="示例", href="/example", permission="example:read", order=900)]


@hookimpl
def customer_tabs(actor) -> list[CustomerTab]:
    return [CustomerTab(key="example", label="示例页签", href="/example?customer={id}", permission="example:read")]


@hookimpl
async def customer_timeline(actor, customer_id: int) -> list[TimelineEntry]:
    """Notes whose text is `customer:<id> …` show on that customer's timeline."""
    rows = await ExampleNote.select().where(ExampleNote.text.like(f"customer:{customer_id} %"))
    return [TimelineEntry(at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), kind="example", title=r["text"]) for r in rows]


@hookimpl
async def reminders(actor, today) -> list[Reminder]:
    count = await ExampleNote.count().where(ExampleNote.owner == actor.user_id)
    return [Reminder(key="example", label="示例提醒", count=count, href="/example")] if count else []


@hookimpl
def jobs() -> list[Job]:
    return [Job(name="example.tick", run=_job, every=60)]


async def _background() -> None:
    SEEN["background"].append("started")


@hookimpl
def background_tasks() -> list:
    return [_background]


@hookimpl
def settings_sections() -> list[SettingsSection]:
    return [SettingsSection(key="example", label="示例设置", schema=ExampleSettings)]


@hookimpl
def cli_commands() -> list:
    return [hello]


def _fail(payload) -> None:
    raise RuntimeError(f"example handler fails on purpose: {payload!r}")


async def _after_fail(payload) -> None:
    SEEN["events"].append(("after-fail", payload))


@hookimpl
def event_handlers() -> list[EventHandler]:
    return [
        EventHandler(event="example.ping", handle=lambda payload: SEEN["events"].append(payload)),
        EventHandler(event="example.fail", handle=_fail),
        EventHandler(event="example.fail", handle=_after_fail),
        EventHandler(event="do_not_contact.added", handle=lambda payload: SEEN["events"].append(payload)),
    ]


@hookimpl
def phone_actions(actor) -> list[ActionLink]:
    return [ActionLink(key="example", label="示例操作", href="/example/phone/{number}", permission="example:read",
                        order=50)]


@hookimpl
def customer_list_actions(actor) -> list[ActionLink]:
    return [ActionLink(key="example", label="示例批量", href="/example/bulk", permission="example:read")]


@hookimpl
async def do_not_contact(numbers: list[str]) -> list[str]:
    """The example's own list: notes written `dnc:<E.164>`."""
    rows = await ExampleNote.select(ExampleNote.text).where(ExampleNote.text.is_in([f"dnc:{n}" for n in numbers]))
    return [r["text"][4:] for r in rows]


@hookimpl
async def demo_data(users: dict) -> None:
    SEEN["demo"].append(sorted(users))


@hookimpl
async def customer_references(customer_id: int) -> dict[str, int]:
    count = await ExampleNote.count().where(ExampleNote.text.like(f"customer:{customer_id} keep%"))
    return {"示例记录": count}


@hookimpl
async def customer_merge(keep_id: int, merge_id: int, actor) -> dict[str, int]:
    """Notes tagged `customer:<merged id> …` move to the kept customer."""
    rows = await ExampleNote.select().where(ExampleNote.text.like(f"customer:{merge_id} %"))
    for row in rows:
        text = f"customer:{keep_id} " + row["text"].split(" ", 1)[1]
        await ExampleNote.update({ExampleNote.text: text}).where(ExampleNote.id == row["id"])
    return {"example_notes": len(rows)} if rows else {}


@hookimpl
async def handover(from_user_id: int, to_user_id: int, actor) -> dict[str, int]:
    count = await ExampleNote.count().where(ExampleNote.owner == from_user_id)
    await ExampleNote.update({ExampleNote.owner: to_user_id}).where(ExampleNote.owner == from_user_id)
    SEEN["handover"].append((from_user_id, to_user_id))
    return {"example_notes": count} if count else {}
