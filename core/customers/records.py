"""Creating, reading, changing and deleting customers and contacts (every call takes the actor)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException

from core.audit.log import diff_of, record
from core.customers import access, config, credit_code, fields, phones
from core.customers.errors import InvalidInput, field_error
from core.customers.ownership import move, user_department
from core.customers.schemas import (
    ContactIn,
    ContactOut,
    ContactPatch,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
)
from core.customers.tables import (
    ColumnPref,
    Contact,
    ContactPhone,
    Customer,
    CustomerShare,
    CustomerStar,
    CustomerTag,
    Followup,
    FollowupAttachment,
    ImportChange,
    OwnerHistory,
    Plan,
)
from core.db import read_tx, write_tx
from core.host import current
from core.perms.actor import Actor
from core.plugins import collect

CUSTOMER_FIELDS = (
    "kind",
    "name",
    "credit_code",
    "type",
    "category",
    "level",
    "industry",
    "province",
    "city",
    "source",
    "address",
    "website",
    "needs",
    "is_public",
)


def search_text(name: str, code: str, tags: list[str] | str, contact_names: list[str], e164s: list[str]) -> str:
    """What keyword search looks in: lower-cased, with each phone as E.164 and as national digits."""
    tag_list = tags.split(",") if isinstance(tags, str) else tags
    parts = [name, code, *tag_list, *contact_names]
    for e in e164s:
        parts += [e, phones.national_digits(e)]
    return " | ".join(p for p in parts if p).lower()


async def refresh_search(customer_ids: list[int]) -> None:
    for cid in customer_ids:
        row = (
            await Customer.select(Customer.name, Customer.credit_code, Customer.tags).where(Customer.id == cid).first()
        )
        if row is None:
            continue
        names = [c["name"] for c in await Contact.select(Contact.name).where(Contact.customer == cid)]
        e164s = [p["e164"] for p in await ContactPhone.select(ContactPhone.e164).where(ContactPhone.customer == cid)]
        await Customer.update(
            {Customer.search_text: search_text(row["name"], row["credit_code"], row["tags"], names, e164s)}
        ).where(Customer.id == cid)


def clean_phones(
    raws: list[str], column: str = "电话", row: int | None = None, errors: list[dict[str, Any]] | None = None
) -> list[tuple[str, str]]:
    """(e164, raw) pairs, de-duplicated; bad numbers become errors."""
    out: dict[str, str] = {}
    for raw in raws:
        if not str(raw).strip():
            continue
        try:
            out.setdefault(phones.normalise(raw), phones.cell_text(raw))
        except phones.InvalidPhone as exc:
            err = field_error(column, str(exc).split(" / ")[0], str(exc).split(" / ")[-1], row)
            if errors is None:
                raise InvalidInput(err["message"], errors=[err]) from None
            errors.append(err)
    return list(out.items())


def check_contact(data: ContactIn | ContactPatch, errors: list[dict[str, Any]], prefix: str = "") -> None:
    if isinstance(data.email, str) and data.email and "@" not in data.email:
        errors.append(field_error(f"{prefix}邮箱", f"“{data.email}” 不是邮箱地址", f"{data.email!r} is not an email"))
    if isinstance(data.phones, list):
        clean_phones(data.phones, f"{prefix}电话", errors=errors)


async def check_customer(values: dict[str, Any], errors: list[dict[str, Any]], row: int | None = None) -> None:
    """Validate the plain columns of a customer (credit code, type, level…) into `errors`."""
    settings = await config.current()
    if "credit_code" in values:
        try:
            values["credit_code"] = credit_code.normalise(values["credit_code"])
        except credit_code.InvalidCreditCode as exc:
            zh, en = str(exc).split(" / ")
            errors.append(field_error("统一社会信用代码", zh, en, row))
    if "type" in values and values["type"] not in settings.types:
        errors.append(
            field_error(
                "客户类型",
                f"“{values['type']}” 不是已设置的客户类型（{'/'.join(settings.types)}）",
                f"unknown customer type {values['type']!r}",
                row,
            )
        )
    if values.get("level") and values["level"] not in settings.levels:
        errors.append(
            field_error("客户级别", f"“{values['level']}” 不是已设置的级别", f"unknown level {values['level']!r}", row)
        )
    if "name" in values and not str(values["name"]).strip():
        errors.append(field_error("客户名称", "必填", "is required", row))


def _raise(errors: list[dict[str, Any]]) -> None:
    if errors:
        raise InvalidInput("；".join(e["message"] for e in errors), errors=errors)


async def _insert_contact(
    customer_id: int, data: ContactIn, pairs: list[tuple[str, str]], primary: bool, now: dt.datetime
) -> int:
    rows = await Contact.insert(
        Contact(
            customer=customer_id,
            name=data.name.strip(),
            title=data.title,
            role=data.role,
            importance=data.importance,
            gender=data.gender,
            birthday=data.birthday,
            birthday_md=data.birthday.strftime("%m-%d") if data.birthday else "",
            email=data.email,
            wechat=data.wechat,
            notes=data.notes,
            employed=data.employed,
            is_primary=primary,
            created_at=now,
        )
    ).returning(Contact.id)
    contact_id = rows[0]["id"]
    if pairs:
        await ContactPhone.insert(
            *[ContactPhone(contact=contact_id, customer=customer_id, e164=e, raw=r[:64]) for e, r in pairs]
        )
    return contact_id


async def _set_tags(customer_id: int, tags: list[str]) -> str:
    await CustomerTag.delete().where(CustomerTag.customer == customer_id)
    tags = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    if tags:
        await CustomerTag.insert(*[CustomerTag(customer=customer_id, tag=t) for t in tags])
    return ",".join(tags)


async def create_customer(actor: Actor, data: CustomerIn) -> dict[str, Any]:
    """Validate everything first; then one transaction writes customer, contacts, tags, history, audit."""
    if not actor.can("customers:create"):
        raise PermissionDeniedException("没有新增客户的权限 / permission required: customers:create")
    errors: list[dict[str, Any]] = []
    values = {k: getattr(data, k) for k in CUSTOMER_FIELDS}
    values["name"] = values["name"].strip()
    await check_customer(values, errors)
    if actor.customer_types is not None and values["type"] not in actor.customer_types and not actor.system:
        errors.append(
            field_error("客户类型", f"无权使用类型 “{values['type']}”", f"type {values['type']!r} not allowed")
        )
    custom, custom_errors = fields.clean(await fields.active_defs(), data.custom)
    errors += custom_errors
    contacts = list(data.contacts)
    if data.kind == "individual" and not contacts:
        contacts = [ContactIn(name=values["name"], phones=data.phones)]
    elif data.phones and not contacts:
        contacts = [ContactIn(name=values["name"], phones=data.phones)]
    for i, c in enumerate(contacts, 1):
        check_contact(c, errors, prefix=f"联系人{i} " if len(contacts) > 1 else "")
    _raise(errors)
    pairs = [clean_phones(c.phones) for c in contacts]
    owner = data.owner_id if data.owner_id is not None else actor.user_id
    if owner != actor.user_id and not actor.can("customers:assign"):
        raise InvalidInput("指定其他负责人需要分派权限 / assigning another owner needs customers:assign")
    department = await user_department(owner) if owner is not None else None
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        rows = await Customer.insert(
            Customer(
                **values,
                custom=fields.encode(custom),
                owner=None,
                department=department,
                created_by=actor.user_id,
                created_at=now,
                updated_at=now,
            )
        ).returning(Customer.id)
        cid = rows[0]["id"]
        tags = await _set_tags(cid, data.tags)
        await Customer.update({Customer.tags: tags}).where(Customer.id == cid)
        for i, (c, p) in enumerate(zip(contacts, pairs, strict=True)):
            await _insert_contact(cid, c, p, i == 0, now)
        await refresh_search([cid])
        await record(actor, "create", "customer", cid, diff={k: [None, v] for k, v in values.items() if v})
        if owner is not None:
            await move(actor, [{"id": cid, "owner": None}], owner, "create", "新建客户 / created", now=now)
    return {"id": cid, "duplicates": await duplicates_of(actor, cid)}


async def duplicates_of(actor: Actor, customer_id: int) -> list[dict[str, Any]]:
    """Customers in the actor's read scope sharing a phone or credit code, or with the same name."""
    from core.customers.duplicates import find_for

    return await find_for(actor, customer_id)


def _out_contact(c: dict[str, Any], phone_rows: list[dict[str, Any]]) -> ContactOut:
    return ContactOut(
        id=c["id"],
        customer_id=c["customer"],
        name=c["name"],
        title=c["title"],
        role=c["role"],
        importance=c["importance"],
        gender=c["gender"],
        birthday=c["birthday"],
        phones=[p["e164"] for p in phone_rows if p["contact"] == c["id"]],
        email=c["email"],
        wechat=c["wechat"],
        notes=c["notes"],
        employed=c["employed"],
        is_primary=c["is_primary"],
    )


def customer_out(row: dict[str, Any], contacts: list[ContactOut] | None = None, starred: bool = False) -> CustomerOut:
    return CustomerOut(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        credit_code=row["credit_code"],
        type=row["type"],
        category=row["category"],
        level=row["level"],
        industry=row["industry"],
        province=row["province"],
        city=row["city"],
        source=row["source"],
        address=row["address"],
        website=row["website"],
        needs=row["needs"],
        tags=[t for t in row["tags"].split(",") if t],
        custom=msgspec.json.decode(row["custom"] or "{}"),
        owner_id=row["owner"],
        department_id=row["department"],
        pool_id=row["pool"],
        pre_owner_id=row["pre_owner"],
        pooled_at=row["pooled_at"],
        is_public=row["is_public"],
        last_followup_at=row["last_followup_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        contacts=contacts or [],
        starred=starred,
    )


async def contacts_of(customer_id: int) -> list[ContactOut]:
    rows = await Contact.select().where(Contact.customer == customer_id).order_by(Contact.id)
    phone_rows = (
        await ContactPhone.select(ContactPhone.contact, ContactPhone.e164)
        .where(ContactPhone.customer == customer_id)
        .order_by(ContactPhone.id)
    )
    return [_out_contact(c, phone_rows) for c in rows]


async def detail(actor: Actor, customer_id: int, *, audit: bool = True) -> CustomerOut:
    async with read_tx():
        row = await access.readable(actor, customer_id)
        starred = actor.user_id is not None and await CustomerStar.exists().where(
            (CustomerStar.user == actor.user_id) & (CustomerStar.customer == customer_id)
        )
        contacts = await contacts_of(customer_id)
    if audit:
        await record(actor, "view", "customer", customer_id)
    return customer_out(row, contacts, starred)


async def update_customer(actor: Actor, customer_id: int, patch: CustomerPatch) -> CustomerOut:
    before = await access.editable(actor, customer_id)
    changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    errors: list[dict[str, Any]] = []
    values = {k: v for k, v in changes.items() if k in CUSTOMER_FIELDS}
    if "name" in values:
        values["name"] = values["name"].strip()
    await check_customer(values, errors)
    if "type" in values and actor.customer_types is not None and values["type"] not in actor.customer_types:
        errors.append(
            field_error("客户类型", f"无权使用类型 “{values['type']}”", f"type {values['type']!r} not allowed")
        )
    custom_json = None
    if "custom" in changes:
        merged = {**msgspec.json.decode(before["custom"] or "{}"), **changes["custom"]}
        merged = {k: v for k, v in merged.items() if v not in (None, "", [])}
        custom, custom_errors = fields.clean(await fields.active_defs(), merged)
        errors += custom_errors
        custom_json = fields.encode(custom)
    _raise(errors)
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        update: dict[Any, Any] = {getattr(Customer, k): v for k, v in values.items()}
        if custom_json is not None:
            update[Customer.custom] = custom_json
        if "tags" in changes:
            update[Customer.tags] = await _set_tags(customer_id, changes["tags"])
        update[Customer.updated_at] = now
        await Customer.update(update).where(Customer.id == customer_id)
        await refresh_search([customer_id])
        after = await Customer.select().where(Customer.id == customer_id).first()
        diff = diff_of(
            {k: before[k] for k in (*CUSTOMER_FIELDS, "custom", "tags")},
            {k: after[k] for k in (*CUSTOMER_FIELDS, "custom", "tags")},
        )
        if diff:
            await record(actor, "update", "customer", customer_id, diff=diff)
    return customer_out(after, await contacts_of(customer_id))


async def purge_children(ids: list[int]) -> None:
    """Remove a customer's own rows (FKs are RESTRICT, so this is explicit)."""
    followups = Followup.select(Followup.id).where(Followup.customer.is_in(ids))
    await FollowupAttachment.delete().where(FollowupAttachment.followup.is_in(followups))
    await Followup.delete().where(Followup.customer.is_in(ids))
    await Plan.delete().where(Plan.customer.is_in(ids))
    await ContactPhone.delete().where(ContactPhone.customer.is_in(ids))
    await Contact.delete().where(Contact.customer.is_in(ids))
    for table in (CustomerTag, CustomerStar, CustomerShare, OwnerHistory, ImportChange):
        await table.delete().where(table.customer.is_in(ids))


async def delete_customer(actor: Actor, customer_id: int) -> None:
    before = await access.deletable(actor, customer_id)
    counts: dict[str, int] = {}
    for found in await collect(current().pm.hook.customer_references, customer_id=customer_id):
        for label, count in found.items():
            counts[label] = counts.get(label, 0) + count
    held = "、".join(f"{label} {count}" for label, count in counts.items() if count)
    if held:
        raise ClientException(
            f"该客户还有{held}，不能删除；可合并到其他客户 / the customer still has {held}: merge it instead",
            status_code=409,
        )
    async with write_tx():
        await purge_children([customer_id])
        await Customer.delete().where(Customer.id == customer_id)
        await record(
            actor, "delete", "customer", customer_id, diff={k: [before[k], None] for k in CUSTOMER_FIELDS if before[k]}
        )


async def add_contact(actor: Actor, customer_id: int, data: ContactIn) -> ContactOut:
    await access.editable(actor, customer_id)
    errors: list[dict[str, Any]] = []
    check_contact(data, errors)
    _raise(errors)
    now = dt.datetime.now(dt.UTC)
    async with write_tx():
        has_primary = await Contact.exists().where((Contact.customer == customer_id) & (Contact.is_primary == True))  # noqa: E712
        cid = await _insert_contact(customer_id, data, clean_phones(data.phones), not has_primary, now)
        await refresh_search([customer_id])
        await record(
            actor,
            "create",
            "contact",
            cid,
            diff={"name": [None, data.name], "phones": [None, data.phones]},
            meta={"customer": customer_id},
        )
    return next(c for c in await contacts_of(customer_id) if c.id == cid)


async def _contact_in_scope(actor: Actor, contact_id: int, *, edit: bool) -> dict[str, Any]:
    row = await Contact.select().where(Contact.id == contact_id).first()
    if row is None:
        raise NotFoundException("联系人不存在 / contact not found")
    await (access.editable if edit else access.readable)(actor, row["customer"])
    return row


async def get_contact(actor: Actor, contact_id: int) -> ContactOut:
    row = await _contact_in_scope(actor, contact_id, edit=False)
    await record(actor, "view", "contact", contact_id)
    return next(c for c in await contacts_of(row["customer"]) if c.id == contact_id)


async def update_contact(actor: Actor, contact_id: int, patch: ContactPatch) -> ContactOut:
    before = await _contact_in_scope(actor, contact_id, edit=True)
    errors: list[dict[str, Any]] = []
    check_contact(patch, errors)
    _raise(errors)
    changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    async with write_tx():
        update: dict[Any, Any] = {getattr(Contact, k): v for k, v in changes.items() if k != "phones"}
        if "birthday" in changes:
            update[Contact.birthday_md] = changes["birthday"].strftime("%m-%d") if changes["birthday"] else ""
        if update:
            await Contact.update(update).where(Contact.id == contact_id)
        if "phones" in changes:
            await ContactPhone.delete().where(ContactPhone.contact == contact_id)
            pairs = clean_phones(changes["phones"])
            if pairs:
                await ContactPhone.insert(
                    *[
                        ContactPhone(contact=contact_id, customer=before["customer"], e164=e, raw=r[:64])
                        for e, r in pairs
                    ]
                )
        await refresh_search([before["customer"]])
        await record(actor, "update", "contact", contact_id, diff=diff_of({k: before.get(k) for k in changes}, changes))
    return next(c for c in await contacts_of(before["customer"]) if c.id == contact_id)


async def delete_contact(actor: Actor, contact_id: int) -> None:
    before = await _contact_in_scope(actor, contact_id, edit=True)
    async with write_tx():
        await ContactPhone.delete().where(ContactPhone.contact == contact_id)
        await Followup.update({Followup.contact: None}).where(Followup.contact == contact_id)
        await Plan.update({Plan.contact: None}).where(Plan.contact == contact_id)
        await Contact.delete().where(Contact.id == contact_id)
        await refresh_search([before["customer"]])
        await record(
            actor,
            "delete",
            "contact",
            contact_id,
            diff={"name": [before["name"], None]},
            meta={"customer": before["customer"]},
        )


async def set_star(actor: Actor, customer_id: int, on: bool) -> None:
    """收藏 / 取消收藏 a customer the actor can read."""
    await access.readable(actor, customer_id)
    async with write_tx():
        await CustomerStar.delete().where((CustomerStar.user == actor.user_id) & (CustomerStar.customer == customer_id))
        if on:
            await CustomerStar.insert(
                CustomerStar(user=actor.user_id, customer=customer_id, created_at=dt.datetime.now(dt.UTC))
            )
        await record(actor, "star" if on else "unstar", "customer", customer_id)


async def share(actor: Actor, customer_id: int, *, user_id: int | None, department_id: int | None, level: str) -> int:
    """共享 a customer the actor may edit, to a user or a department, to read or edit."""
    await access.editable(actor, customer_id)
    if (user_id is None) == (department_id is None):
        raise InvalidInput("请指定一个用户或一个部门 / give exactly one user or one department")
    async with write_tx():
        await CustomerShare.delete().where(
            (CustomerShare.customer == customer_id)
            & ((CustomerShare.user == user_id) if user_id is not None else (CustomerShare.department == department_id))
        )
        rows = await CustomerShare.insert(
            CustomerShare(
                customer=customer_id,
                user=user_id,
                department=department_id,
                level=level,
                shared_by=actor.user_id,
                created_at=dt.datetime.now(dt.UTC),
            )
        ).returning(CustomerShare.id)
        await record(
            actor, "share", "customer", customer_id, meta={"user": user_id, "department": department_id, "level": level}
        )
    return rows[0]["id"]


async def unshare(actor: Actor, customer_id: int, share_id: int) -> None:
    await access.editable(actor, customer_id)
    async with write_tx():
        deleted = (
            await CustomerShare.delete()
            .where((CustomerShare.id == share_id) & (CustomerShare.customer == customer_id))
            .returning(CustomerShare.id)
        )
        if not deleted:
            raise NotFoundException("共享不存在 / share not found")
        await record(actor, "unshare", "customer", customer_id, meta={"share": share_id})


async def shares_of(actor: Actor, customer_id: int) -> list[dict[str, Any]]:
    await access.readable(actor, customer_id)
    return await CustomerShare.select(
        CustomerShare.id, CustomerShare.user, CustomerShare.department, CustomerShare.level
    ).where(CustomerShare.customer == customer_id)


async def list_contacts(actor: Actor, q: str = "", limit: int = 100) -> list[ContactOut]:
    """联系人 list: contacts of customers in the actor's read scope, optionally by name or phone."""
    scope = await access.read_where(actor)
    in_scope = Customer.select(Customer.id)
    clause: Any = Contact.customer.is_in(in_scope.where(scope) if scope is not None else in_scope)
    q = q.strip()
    if q:
        e164 = phones.try_normalise(q)
        if e164:
            clause = clause & Contact.id.is_in(
                ContactPhone.select(ContactPhone.contact).where(ContactPhone.e164 == e164)
            )
        else:
            clause = clause & Contact.name.like(f"%{q}%")
    rows = await Contact.select().where(clause).order_by(Contact.id, ascending=False).limit(limit)
    phone_rows = await ContactPhone.select(ContactPhone.contact, ContactPhone.e164).where(
        ContactPhone.contact.is_in([r["id"] for r in rows] or [0])
    )
    await record(actor, "query", "contact", meta={"q": q, "rows": len(rows)})
    return [_out_contact(c, phone_rows) for c in rows]


async def get_columns(actor: Actor, view: str = "customers") -> list[str]:
    row = (
        await ColumnPref.select(ColumnPref.columns)
        .where((ColumnPref.user == actor.user_id) & (ColumnPref.view == view))
        .first()
    )
    return msgspec.json.decode(row["columns"]) if row else []


async def set_columns(actor: Actor, columns: list[str], view: str = "customers") -> list[str]:
    """列设置: the columns a user chose for a list, saved per user."""
    from core.customers.schemas import CustomerRow

    known = set(CustomerRow.__struct_fields__)
    wrong = [c for c in columns if c not in known]
    if wrong:
        raise InvalidInput(f"未知的列 {wrong[0]} / unknown column {wrong[0]!r}")
    async with write_tx():
        await ColumnPref.delete().where((ColumnPref.user == actor.user_id) & (ColumnPref.view == view))
        await ColumnPref.insert(
            ColumnPref(user=actor.user_id, view=view, columns=msgspec.json.encode(columns).decode())
        )
    return columns
