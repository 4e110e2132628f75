"""zh-CN pages under /sms: compose with preview, 发信记录, 收信记录, 常用短信, 退订名单, the customer tab."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, MultipartBody
from litestar.response import Template

from core.customers import search
from core.customers.access import readable
from core.customers.errors import InvalidInput
from core.customers.schemas import ListQuery
from core.web.responses import actor_of, page
from plugins.sms import compose, config, forms, inbox, library, logs, optout, worker
from plugins.sms.channels import registry
from plugins.sms.routes_api import UploadForm, import_file
from plugins.sms.schemas import SendIn, TemplateIn
from plugins.sms.timeline import STATE_LABELS

SEND = {"permission": "sms:send"}
READ = {"permission": "sms:read"}


def _partial(name: str, **context: Any) -> Template:
    return Template(template_name=f"sms/{name}", context=context)


def _errors(exc: InvalidInput) -> Template:
    return _partial("_errors.html", errors=[exc.message, *[e["message"] for e in exc.errors[:20]]])


async def _compose_context(request: Request, customer_ids: list[int]) -> dict[str, Any]:
    actor = actor_of(request)
    settings = await config.current()
    picked = []
    for cid in customer_ids:
        try:
            picked.append(await readable(actor, cid))
        except NotFoundException:  # a customer out of scope is simply not offered
            continue
    channels = [(name, ch.label, ch.configured(settings)) for name, ch in registry.CHANNELS.items()]
    return {"templates": await library.listing(actor), "settings": settings, "picked": picked,
            "channels": channels, "box_status": box_status(settings),
            "balance": await registry.get(settings.default_channel).balance(settings)
            if settings.default_channel in registry.CHANNELS else None}


def box_status(settings: config.SmsSettings) -> dict[str, Any]:
    """Where the 短信盒子 channel's boxes come from, for the compose page: the dialer's (which, where) or a port,
    else why there is none."""
    from plugins.sms.channels.box import dialer_devices

    source = config.box_source(settings)
    problem = registry.get("box").configured(settings)
    held = (dialer_devices() or []) if source == "dialer" else []
    return {"source": source, "problem": problem, "url": config.box_url(settings),
            "devices": [(d["device"], d["where"], d["online"]) for d in held]}


@get("/sms", opt=SEND, include_in_schema=False)
async def compose_page(request: Request, customer: FromQuery[list[int] | None] = None,
                       template: FromQuery[int | None] = None) -> Template:
    context = await _compose_context(request, customer or [])
    chosen = next((t for t in context["templates"] if t.id == template), None)
    return page("sms/compose.html", request, chosen=chosen, text=chosen.body if chosen else "", **context)


@get("/sms/customers", opt=SEND, include_in_schema=False)
async def customer_picker(request: Request, q: FromQuery[str] = "") -> Template:
    result = await search.list_customers(actor_of(request), ListQuery(view="all", q=q, limit=20), audit=False)
    return _partial("_picker.html", customers=result.items)


@get("/sms/template-body", opt=SEND, include_in_schema=False)
async def template_body(request: Request, template_id: FromQuery[str] = "") -> Template:
    body = ""
    if template_id.isdigit():
        body = (await library.get(actor_of(request), int(template_id))).body
    return _partial("_textarea.html", text=body)


@post("/sms/preview", opt=SEND, include_in_schema=False)
async def preview_post(request: Request) -> Template:
    try:
        data = forms.send_in(await request.form())
        out = await compose.preview(actor_of(request), data)
    except InvalidInput as exc:
        return _errors(exc)
    return _partial("_preview.html", p=out)


@post("/sms/send", opt=SEND, include_in_schema=False)
async def send_post(request: Request) -> Template:
    try:
        data: SendIn = forms.send_in(await request.form())
        out = await compose.send(actor_of(request), data)
    except InvalidInput as exc:
        return _errors(exc)
    worker.kick()
    return _partial("_sent.html", out=out)


@dataclass
class ImportForm:
    file: UploadFile
    numbers: str = ""


@post("/sms/import", opt=SEND, include_in_schema=False)
async def import_post(data: MultipartBody[ImportForm]) -> Template:
    """Imported numbers are added to what is already typed in the numbers box."""
    try:
        out = await import_file(UploadForm(file=data.file))
    except InvalidInput as exc:
        return _errors(exc)
    lines = [data.numbers.strip(), *(f"{r.number} {r.name}".strip() for r in out.recipients)]
    return _partial("_numbers.html", out=out, numbers="\n".join(line for line in lines if line))


@get("/sms/sent", opt=READ, include_in_schema=False)
async def sent_page(request: Request, batch: FromQuery[int | None] = None, status: FromQuery[str] = "",
                    q: FromQuery[str] = "") -> Template:
    actor = actor_of(request)
    status = status if status in logs.STATES else ""
    context = {
        "batches": [] if batch else await logs.batches(actor, limit=50),
        "batch": await logs.batch(actor, batch) if batch else None,
        "messages": await logs.messages(actor, batch_id=batch, state=status, q=q, limit=500),
        "status": status, "q": q, "labels": STATE_LABELS, "states": logs.STATES,
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "sms-messages":
        return _partial("_messages.html", **context)
    return page("sms/sent.html", request, **context)


@post("/sms/batches/{batch_id:int}/cancel", opt=SEND, include_in_schema=False)
async def cancel_post(request: Request, batch_id: FromPath[int]) -> Template:
    n = await logs.cancel(actor_of(request), batch_id)
    return _partial("_errors.html", errors=[f"已取消 {n} 条未发送的短信 / {n} cancelled"])


@post("/sms/messages/{message_id:int}/retry", opt=SEND, include_in_schema=False)
async def retry_post(request: Request, message_id: FromPath[int]) -> Template:
    try:
        m = await logs.retry(actor_of(request), message_id)
    except InvalidInput as exc:
        return _errors(exc)
    worker.kick()
    return _partial("_message_row.html", m=m, labels=STATE_LABELS)


@get("/sms/inbox", opt=READ, include_in_schema=False)
async def inbox_page(request: Request, q: FromQuery[str] = "") -> Template:
    return page("sms/inbox.html", request, rows=await inbox.listing(actor_of(request), q=q), q=q)


@post("/sms/inbox/{inbox_id:int}/followup", opt=READ, include_in_schema=False)
async def followup_post(request: Request, inbox_id: FromPath[int]) -> Template:
    try:
        row = await inbox.make_followup(actor_of(request), inbox_id)
    except InvalidInput as exc:
        return _errors(exc)
    return _partial("_inbox_row.html", r=row)


@get("/sms/templates", opt=SEND, include_in_schema=False)
async def templates_page(request: Request) -> Template:
    actor = actor_of(request)
    return page("sms/templates.html", request, templates=await library.listing(actor),
                can_share=actor.can("sms:settings"))


@post("/sms/templates", opt=SEND, include_in_schema=False)
async def templates_post(request: Request) -> Template:
    form = await request.form()
    actor = actor_of(request)
    try:
        await library.create(actor, TemplateIn(name=forms.value(form, "name") or "未命名",
                                               body=forms.value(form, "body"),
                                               shared=bool(forms.value(form, "shared"))))
    except InvalidInput as exc:
        return _errors(exc)
    return _partial("_template_rows.html", templates=await library.listing(actor))


@post("/sms/templates/{template_id:int}/delete", opt=SEND, include_in_schema=False)
async def template_delete(request: Request, template_id: FromPath[int]) -> Template:
    actor = actor_of(request)
    await library.delete(actor, template_id)
    return _partial("_template_rows.html", templates=await library.listing(actor))


@get("/sms/optouts", opt=SEND, include_in_schema=False)
async def optouts_page(request: Request, q: FromQuery[str] = "") -> Template:
    return page("sms/optouts.html", request, rows=await optout.listing(q), q=q,
                can_remove=actor_of(request).can("sms:settings"))


@post("/sms/optouts", opt=SEND, include_in_schema=False)
async def optouts_post(request: Request) -> Template:
    form = await request.form()
    actor = actor_of(request)
    try:
        await optout.add(forms.value(form, "number"), source="manual", actor=actor, note=forms.value(form, "note"))
    except InvalidInput as exc:
        return _errors(exc)
    return _partial("_optout_rows.html", rows=await optout.listing(), can_remove=actor.can("sms:settings"))


@post("/sms/optouts/remove", opt={"permission": "sms:settings"}, include_in_schema=False)
async def optouts_remove(request: Request) -> Template:
    form = await request.form()
    actor = actor_of(request)
    await optout.remove(forms.value(form, "number"), actor)
    return _partial("_optout_rows.html", rows=await optout.listing(), can_remove=True)


@get("/sms/customer/{customer_id:int}", opt=READ, include_in_schema=False)
async def customer_tab(request: Request, customer_id: FromPath[int]) -> Template:
    actor = actor_of(request)
    await readable(actor, customer_id)
    return _partial("_customer_tab.html", cid=customer_id, labels=STATE_LABELS,
                    messages=await logs.messages(actor, customer_id=customer_id, limit=100),
                    replies=await inbox.listing(actor, customer_id=customer_id, limit=100),
                    can_send=actor.can("sms:send"))


PAGE_HANDLERS = [
    compose_page, customer_picker, template_body, preview_post, send_post, import_post, sent_page, cancel_post,
    retry_post, inbox_page, followup_post, templates_page, templates_post, template_delete, optouts_page,
    optouts_post, optouts_remove, customer_tab,
]
