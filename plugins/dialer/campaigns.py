"""Building and steering campaigns: numbers from customers, a CRM filter or a file; DNC and scope checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException

from core import do_not_contact
from core.audit.log import record
from core.customers import access
from core.customers.phones import InvalidPhone, cell_text, normalise
from core.customers.schemas import ListQuery
from core.customers.search import matching_ids
from core.customers.spreadsheet import read_table
from core.customers.tables import Contact, ContactPhone, Customer
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import get_in_scope, scope_where, where_all
from plugins.dialer.engine import CampaignConfig, ConfigError, validate
from plugins.dialer.errors import DialerConflict, DialerInputError
from plugins.dialer.schemas import CampaignIn, CampaignOut
from plugins.dialer.tables import Campaign, CampaignNumber, Device, Recording

READ = "dialer:read"
RUN = "dialer:run"
ADVISED_BATCH = 500
PHONE_HEADERS = ("电话", "手机", "号码", "phone", "mobile", "number", "tel")


def numbers_from_file(data: bytes, filename: str) -> list[str]:
    """Raw numbers from an .xlsx/.csv: the column headed 电话/手机/phone…, else the first column."""
    headers, rows = read_table(data, filename)
    col = next((k for k, h in enumerate(headers) if any(p in str(h).lower() for p in PHONE_HEADERS)), None)
    out: list[str] = []
    if col is None:
        col = 0
        if headers and _looks_like_phone(headers[0]):
            out.append(cell_text(headers[0]))
    for row in rows:
        if col < len(row) and row[col] not in (None, ""):
            try:
                out.append(cell_text(row[col]))
            except InvalidPhone:
                out.append(str(row[col]))
    return out


def _looks_like_phone(value: Any) -> bool:
    try:
        normalise(value)
        return True
    except InvalidPhone:
        return False


class Prepared(msgspec.Struct, kw_only=True):
    rows: list[tuple[str, int | None, int | None]]  # e164, customer, contact
    invalid: int = 0
    duplicate: int = 0
    dnc: int = 0
    scope: int = 0


async def prepare_numbers(actor: Actor, data: CampaignIn) -> Prepared:
    p = Prepared(rows=[])
    seen: set[str] = set()
    candidates: list[tuple[str, int | None, int | None]] = []
    customer_ids = list(dict.fromkeys(data.customer_ids))
    if data.filter is not None:
        try:
            query = msgspec.convert(data.filter, ListQuery)
        except msgspec.ValidationError as exc:
            raise DialerInputError("客户筛选条件无效", f"invalid customer filter: {exc}") from exc
        customer_ids += [c for c in await matching_ids(actor, query) if c not in customer_ids]
    if customer_ids or data.contact_ids:
        readable = await access.read_where(actor)
        if data.contact_ids:
            rows = await Contact.select(Contact.id, Contact.customer).where(Contact.id.is_in(data.contact_ids))
            customer_ids += [r["customer"] for r in rows if r["customer"] not in customer_ids]
        ok_rows = await Customer.select(Customer.id).where(where_all(Customer.id.is_in(customer_ids), readable)) \
            if customer_ids else []
        ok = {r["id"] for r in ok_rows}
        p.scope += len([c for c in customer_ids if c not in ok])
        if ok:
            phones = await ContactPhone.select(ContactPhone.e164, ContactPhone.customer, ContactPhone.contact).where(
                ContactPhone.customer.is_in(sorted(ok))).order_by(ContactPhone.customer).order_by(ContactPhone.id)
            wanted_contacts = set(data.contact_ids)
            for r in phones:
                if wanted_contacts and r["contact"] not in wanted_contacts and r["customer"] not in data.customer_ids:
                    continue
                candidates.append((r["e164"], r["customer"], r["contact"]))
    raw_numbers: list[str] = []
    for raw in data.numbers:
        try:
            raw_numbers.append(normalise(raw))
        except InvalidPhone:
            p.invalid += 1
    if raw_numbers:
        owners = await _owners_of(raw_numbers, actor)
        for e164 in raw_numbers:
            link = owners.get(e164)
            if link == "out_of_scope":
                p.scope += 1
                continue
            candidates.append((e164, link[0] if link else None, link[1] if link else None))
    dnc = await do_not_contact.blocked(c[0] for c in candidates)
    for e164, cust, contact in candidates:
        if e164 in seen:
            p.duplicate += 1
            continue
        seen.add(e164)
        if e164 in dnc:
            p.dnc += 1
            continue
        p.rows.append((e164, cust, contact))
    return p


async def _owners_of(e164s: list[str], actor: Actor) -> dict[str, Any]:
    """e164 → (customer, contact) when the caller may read that customer, "out_of_scope" when a customer
    owns the number but lies outside the caller's scope; numbers of no customer are absent."""
    out: dict[str, Any] = {}
    rows = await ContactPhone.select(ContactPhone.e164, ContactPhone.customer, ContactPhone.contact).where(
        ContactPhone.e164.is_in(sorted(set(e164s))))
    if not rows:
        return out
    readable = {r["id"] for r in await Customer.select(Customer.id).where(
        where_all(Customer.id.is_in(sorted({r["customer"] for r in rows})), await access.read_where(actor)))}
    for r in rows:
        if r["customer"] in readable:
            out[r["e164"]] = (r["customer"], r["contact"])
        else:
            out.setdefault(r["e164"], "out_of_scope")
    return out


def config_of(data: CampaignIn) -> CampaignConfig:
    try:
        cfg = msgspec.convert({**data.config, "mode": data.mode}, CampaignConfig)
        return validate(cfg)
    except msgspec.ValidationError as exc:
        raise DialerInputError("外呼设置无效", f"invalid campaign settings: {exc}") from exc
    except ConfigError as exc:
        raise DialerInputError(str(exc).split(" / ")[0], str(exc).split(" / ")[-1]) from exc


async def create(actor: Actor, data: CampaignIn) -> CampaignOut:
    if not (data.customer_ids or data.contact_ids or data.filter is not None or data.numbers):
        raise DialerInputError("号码列表为空：请选择客户或上传号码文件",
                               "the number list is empty: pick customers or upload a file of numbers")
    from plugins.dialer.settings import current

    defaults = await current()
    data = msgspec.structs.replace(data, config={"user_max_per_day": defaults.user_max_per_day,
                                                 "sim_max_per_day": defaults.sim_max_per_day or None,
                                                 **data.config})
    cfg = config_of(data)
    prompt_s = 0.0
    if data.recording_id is not None:
        rec = await Recording.select().where(Recording.id == data.recording_id).first()
        if rec is None or not (rec["shared"] or rec["owner"] == actor.user_id or actor.is_admin):
            raise DialerInputError("外呼语音不存在", "recording not found")
        prompt_s = rec["duration_s"]
        if cfg.mode == "auto_handover" and not data.config.get("handover_s"):
            cfg = msgspec.structs.replace(cfg, handover_s=rec["handover_s"] or min(prompt_s, 8.0))
    elif data.mode != "manual":
        raise DialerInputError("放音模式需要选择外呼语音（或选择手动模式）",
                               "prompt modes need a recording (or choose manual mode)")
    for spec in data.devices:
        if not await Device.exists().where(Device.id == spec.device):
            raise DialerInputError(f"设备 {spec.device} 不存在", f"device {spec.device} not found")
    prepared = await prepare_numbers(actor, data)
    if not prepared.rows:
        raise DialerInputError(
            f"没有可拨打的号码（无效 {prepared.invalid}，重复 {prepared.duplicate}，谢绝来电 {prepared.dnc}，"
            f"超出权限 {prepared.scope}）",
            f"no number left to dial (invalid {prepared.invalid}, duplicate {prepared.duplicate}, "
            f"do-not-call {prepared.dnc}, out of scope {prepared.scope})")
    now = dt.datetime.now(dt.UTC)
    cfg_json = msgspec.to_builtins(cfg)
    cfg_json.pop("mode", None)
    cfg_json["prompt_s"] = prompt_s
    async with write_tx():
        rows = await Campaign.insert(Campaign(
            name=data.name, owner=actor.user_id, department=actor.department_id, recording=data.recording_id,
            mode=data.mode, status="draft", config=cfg_json, devices=msgspec.to_builtins(data.devices),
            source="file" if data.numbers else ("filter" if data.filter is not None else "customers"),
            total=len(prepared.rows), removed_invalid=prepared.invalid, removed_duplicate=prepared.duplicate,
            removed_dnc=prepared.dnc, removed_scope=prepared.scope, created_at=now,
        )).returning(Campaign.id)
        cid = rows[0]["id"]
        await CampaignNumber.insert(*[
            CampaignNumber(campaign=cid, e164=e164, customer=cust, contact=contact, position=k)
            for k, (e164, cust, contact) in enumerate(prepared.rows)])
        await record(actor, "create", "dialer_campaign", cid,
                     meta={"total": len(prepared.rows), "invalid": prepared.invalid, "duplicate": prepared.duplicate,
                           "dnc": prepared.dnc, "scope": prepared.scope})
    out = await get(actor, cid)
    if len(prepared.rows) > ADVISED_BATCH:
        out.warning = f"建议每批少于 {ADVISED_BATCH} 个号码 / fewer than {ADVISED_BATCH} numbers per batch are advised"
    return out


async def _where(actor: Actor) -> Any:
    return await scope_where(actor, READ, owner=Campaign.owner, department=Campaign.department)


async def get_row(actor: Actor, campaign_id: int) -> dict[str, Any]:
    return await get_in_scope(actor, READ, Campaign, campaign_id, owner=Campaign.owner,
                              department=Campaign.department)


def out_of(r: dict[str, Any], names: dict[int, str] | None = None) -> CampaignOut:
    return CampaignOut(
        id=r["id"], name=r["name"], owner_id=r["owner"], owner_name=(names or {}).get(r["owner"] or 0, ""),
        status=r["status"], status_reason=r["status_reason"], mode=r["mode"], recording_id=r["recording"],
        total=r["total"], removed_invalid=r["removed_invalid"], removed_duplicate=r["removed_duplicate"],
        removed_dnc=r["removed_dnc"], removed_scope=r["removed_scope"], dialed=r["dialed"], answered=r["answered"],
        effective=r["effective"], created_at=r["created_at"], started_at=r["started_at"],
        finished_at=r["finished_at"])


async def get(actor: Actor, campaign_id: int) -> CampaignOut:
    return out_of(await get_row(actor, campaign_id))


async def list_campaigns(actor: Actor, limit: int = 100) -> list[CampaignOut]:
    from core.auth.tables import User

    clause = await _where(actor)
    q = Campaign.select().order_by(Campaign.id, ascending=False).limit(limit)
    rows = await (q.where(clause) if clause is not None else q)
    ids = {r["owner"] for r in rows if r["owner"]}
    names = {u["id"]: u["display_name"] for u in await User.select(User.id, User.display_name).where(
        User.id.is_in(sorted(ids)))} if ids else {}
    return [out_of(r, names) for r in rows]


OP_ZH = {"start": "开始", "pause": "暂停", "resume": "继续", "stop": "停止"}
STATUS_ZH = {"draft": "草稿", "running": "进行中", "paused": "已暂停", "waiting": "等待中", "stopped": "已停止",
             "done": "已完成"}
TRANSITIONS = {
    "start": ({"draft"}, "running"),
    "pause": ({"running", "waiting"}, "paused"),
    "resume": ({"paused", "waiting"}, "running"),
    "stop": ({"draft", "running", "waiting", "paused"}, "stopped"),
}


async def transition(actor: Actor, campaign_id: int, op: str) -> CampaignOut:
    row = await get_in_scope(actor, RUN, Campaign, campaign_id, owner=Campaign.owner, department=Campaign.department)
    allowed, target = TRANSITIONS[op]
    if row["status"] not in allowed:
        raise DialerConflict(f"外呼任务当前为“{STATUS_ZH.get(row['status'], row['status'])}”，不能{OP_ZH[op]}",
                             f"campaign is {row['status']}; cannot {op}")
    values: dict[Any, Any] = {Campaign.status: target, Campaign.status_reason: ""}
    if op == "start":
        values[Campaign.started_at] = dt.datetime.now(dt.UTC)
    if op == "stop":
        values[Campaign.finished_at] = dt.datetime.now(dt.UTC)
    async with write_tx():
        await Campaign.update(values).where(Campaign.id == campaign_id)
        await record(actor, op, "dialer_campaign", campaign_id, diff={"status": [row["status"], target]})
    return await get(actor, campaign_id)


async def require(actor: Actor, campaign_id: int) -> None:
    if not await Campaign.exists().where(Campaign.id == campaign_id):
        raise NotFoundException("外呼任务不存在 / campaign not found")
