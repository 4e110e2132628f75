"""`/api/v1/sms`: send, preview, import, batches, messages, inbox, templates, opt-outs, balance."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody

from core.web.responses import actor_of
from plugins.sms import compose, config, inbox, library, logs, optout, recipients, worker
from plugins.sms.channels import registry
from plugins.sms.errors import sms_error
from plugins.sms.schemas import (
    BalanceOut,
    BatchOut,
    FollowupFromReplyIn,
    ImportOut,
    InboxOut,
    MessageOut,
    OptOutIn,
    OptOutOut,
    PreviewOut,
    RecipientIn,
    SendIn,
    SendOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)

SEND = {"permission": "sms:send"}
READ = {"permission": "sms:read"}
SETTINGS = {"permission": "sms:settings"}


@dataclass
class UploadForm:
    file: UploadFile


async def import_file(data: UploadForm) -> ImportOut:
    content = await data.file.read()
    items, bad = recipients.from_file(content, data.file.filename or "")
    ok, invalid = recipients.from_numbers(items)
    unique, dups = recipients.dedupe(ok)
    return ImportOut(recipients=[RecipientIn(number=r.number, name=r.name) for r in unique],
                     invalid=[*bad, *invalid], duplicates=len(dups))


class SmsApi(Controller):
    path = "/api/v1/sms"
    tags = ("sms",)

    @post("/preview", opt=SEND, status_code=200)
    async def preview(self, request: Request, data: JSONBody[SendIn]) -> PreviewOut:
        """Count, cost, skipped numbers and filled samples — nothing is queued."""
        return await compose.preview(actor_of(request), data)

    @post("/send", opt=SEND, status_code=201)
    async def send(self, request: Request, data: JSONBody[SendIn]) -> SendOut:
        """Queue a send now or at `scheduled_at`; the worker sends each message exactly once."""
        out = await compose.send(actor_of(request), data)
        worker.kick()
        return out

    @post("/import", opt=SEND, status_code=200)
    async def import_numbers(self, data: MultipartBody[UploadForm]) -> ImportOut:
        """Numbers (and names) from an .xlsx/.csv; invalid rows are listed, duplicates dropped."""
        return await import_file(data)

    @get("/batches", opt=READ)
    async def batches(self, request: Request, limit: FromQuery[int] = 100) -> list[BatchOut]:
        return await logs.batches(actor_of(request), limit=limit)

    @get("/batches/{batch_id:int}", opt=READ)
    async def batch(self, request: Request, batch_id: FromPath[int]) -> BatchOut:
        return await logs.batch(actor_of(request), batch_id)

    @post("/batches/{batch_id:int}/cancel", opt=SEND, status_code=200)
    async def cancel(self, request: Request, batch_id: FromPath[int]) -> dict[str, int]:
        return {"cancelled": await logs.cancel(actor_of(request), batch_id)}

    @get("/messages", opt=READ)
    async def messages(self, request: Request, batch_id: FromQuery[int | None] = None,
                       customer_id: FromQuery[int | None] = None, status: FromQuery[str] = "", q: FromQuery[str] = "",
                       limit: FromQuery[int] = 200, before_id: FromQuery[int | None] = None) -> list[MessageOut]:
        """发信记录, newest first; `status` queued|sending|sent|delivered|failed|cancelled; page with `before_id`."""
        if status and status not in logs.STATES:
            raise sms_error(f"未知状态 {status}", f"unknown status {status!r}")
        return await logs.messages(actor_of(request), batch_id=batch_id, customer_id=customer_id, state=status, q=q,
                                   limit=limit, before_id=before_id)

    @post("/messages/{message_id:int}/retry", opt=SEND, status_code=200)
    async def retry(self, request: Request, message_id: FromPath[int]) -> MessageOut:
        out = await logs.retry(actor_of(request), message_id)
        worker.kick()
        return out

    @get("/inbox", opt=READ)
    async def inbox(self, request: Request, customer_id: FromQuery[int | None] = None,
                    q: FromQuery[str] = "") -> list[InboxOut]:
        """收信记录."""
        return await inbox.listing(actor_of(request), customer_id=customer_id, q=q)

    @post("/inbox/{inbox_id:int}/followup", opt=READ, status_code=200)
    async def followup(self, request: Request, inbox_id: FromPath[int],
                       data: JSONBody[FollowupFromReplyIn]) -> InboxOut:
        """Record a reply as a follow-up (联系记录) of its customer."""
        return await inbox.make_followup(actor_of(request), inbox_id, data.summary)

    @get("/templates", opt=SEND)
    async def templates(self, request: Request) -> list[TemplateOut]:
        return await library.listing(actor_of(request))

    @post("/templates", opt=SEND, status_code=201)
    async def create_template(self, request: Request, data: JSONBody[TemplateIn]) -> TemplateOut:
        return await library.create(actor_of(request), data)

    @patch("/templates/{template_id:int}", opt=SEND)
    async def update_template(self, request: Request, template_id: FromPath[int],
                              data: JSONBody[TemplatePatch]) -> TemplateOut:
        return await library.update(actor_of(request), template_id, data)

    @delete("/templates/{template_id:int}", opt=SEND, status_code=204)
    async def delete_template(self, request: Request, template_id: FromPath[int]) -> None:
        await library.delete(actor_of(request), template_id)

    @get("/optouts", opt=SEND)
    async def optouts(self, q: FromQuery[str] = "") -> list[OptOutOut]:
        return await optout.listing(q)

    @post("/optouts", opt=SEND, status_code=201)
    async def add_optout(self, request: Request, data: JSONBody[OptOutIn]) -> dict[str, bool]:
        return {"added": await optout.add(data.number, source="manual", actor=actor_of(request), note=data.note)}

    @delete("/optouts/{number:str}", opt=SETTINGS, status_code=204)
    async def remove_optout(self, request: Request, number: FromPath[str]) -> None:
        if not await optout.remove(number, actor_of(request)):
            from litestar.exceptions import NotFoundException

            raise NotFoundException("号码不在退订名单中 / the number is not on the opt-out list")

    @get("/balance", opt=SEND)
    async def balance(self, channel: FromQuery[str] = "") -> BalanceOut:
        """Balance where the channel reports it (the gateway); the box reports none."""
        settings = await config.current()
        name = channel or settings.default_channel
        value = await registry.get(name).balance(settings)
        return BalanceOut(channel=name, balance=value, detail="" if value is not None else "该通道不提供余额 / n/a")


API_HANDLERS = [SmsApi]
