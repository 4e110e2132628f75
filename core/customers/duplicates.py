"""Duplicates (查重) on create and import, and merging two customers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from core.audit.log import record
from core.customers import access
from core.customers.errors import InvalidInput
from core.customers.records import purge_children, refresh_search
from core.customers.tables import (
    Contact,
    ContactPhone,
    Customer,
    CustomerTag,
    Followup,
    OwnerHistory,
    Plan,
)
from core.db import write_tx
from core.perms.actor import Actor
from core.perms.scope import where_all

_NOISE = re.compile(r"[\s()（）·.,，\-]|有限责任公司|股份有限公司|有限公司|公司")


def name_key(name: str) -> str:
    """ "珠海建慧贸易有限公司" and "珠海 建慧贸易（有限公司）" compare equal."""
    return _NOISE.sub("", name).lower()


async def find_for(actor: Actor, customer_id: int) -> list[dict[str, Any]]:
    row = await Customer.select(Customer.name, Customer.credit_code).where(Customer.id == customer_id).first()
    if row is None:
        return []
    e164s = [
        p["e164"] for p in await ContactPhone.select(ContactPhone.e164).where(ContactPhone.customer == customer_id)
    ]
    return await find(actor, name=row["name"], credit_code=row["credit_code"], e164s=e164s, exclude=customer_id)


async def find(
    actor: Actor, *, name: str = "", credit_code: str = "", e164s: list[str] | None = None, exclude: int | None = None
) -> list[dict[str, Any]]:
    """Customers within the actor's read scope that look like the same company."""
    scope = await access.read_where(actor)
    out: dict[int, dict[str, Any]] = {}

    async def add(clause: Any, reason: str) -> None:
        where = where_all(clause, scope, Customer.id != exclude if exclude is not None else None)
        for r in await Customer.select(Customer.id, Customer.name).where(where).limit(20):
            out.setdefault(r["id"], {"id": r["id"], "name": r["name"], "reasons": []})["reasons"].append(reason)

    if credit_code:
        await add(Customer.credit_code == credit_code, "credit_code")
    if e164s:
        await add(
            Customer.id.is_in(ContactPhone.select(ContactPhone.customer).where(ContactPhone.e164.is_in(e164s))), "phone"
        )
    key = name_key(name)
    if key:
        core = key[:4] if len(key) >= 4 else key
        for r in (
            await Customer.select(Customer.id, Customer.name)
            .where(
                where_all(
                    Customer.name.like(f"%{core}%"), scope, Customer.id != exclude if exclude is not None else None
                )
            )
            .limit(50)
        ):
            if name_key(r["name"]) == key:
                out.setdefault(r["id"], {"id": r["id"], "name": r["name"], "reasons": []})["reasons"].append("name")
    return list(out.values())


async def merge(actor: Actor, keep_id: int, merge_id: int) -> None:
    """Move contacts, follow-ups, plans and tags of `merge_id` onto `keep_id`, then delete it (audited)."""
    if keep_id == merge_id:
        raise InvalidInput("不能与自身合并 / cannot merge a customer into itself")
    keep = await access.editable(actor, keep_id)
    gone = await access.deletable(actor, merge_id)
    async with write_tx():
        await Contact.update({Contact.customer: keep_id, Contact.is_primary: False}).where(Contact.customer == merge_id)
        await ContactPhone.update({ContactPhone.customer: keep_id}).where(ContactPhone.customer == merge_id)
        await Followup.update({Followup.customer: keep_id}).where(Followup.customer == merge_id)
        await Plan.update({Plan.customer: keep_id}).where(Plan.customer == merge_id)
        await OwnerHistory.update({OwnerHistory.customer: keep_id}).where(OwnerHistory.customer == merge_id)
        tags = [t for t in keep["tags"].split(",") if t]
        tags += [t for t in gone["tags"].split(",") if t and t not in tags]
        await CustomerTag.delete().where(CustomerTag.customer.is_in([keep_id, merge_id]))
        if tags:
            await CustomerTag.insert(*[CustomerTag(customer=keep_id, tag=t) for t in tags])
        last = max([d for d in (keep["last_followup_at"], gone["last_followup_at"]) if d], default=None)
        await Customer.update(
            {
                Customer.tags: ",".join(tags),
                Customer.last_followup_at: last,
                Customer.updated_at: dt.datetime.now(dt.UTC),
            }
        ).where(Customer.id == keep_id)
        moved = await merge_plugin_data(keep_id, merge_id, actor)
        await purge_children([merge_id])
        await Customer.delete().where(Customer.id == merge_id)
        await refresh_search([keep_id])
        await record(
            actor,
            "merge",
            "customer",
            keep_id,
            meta={"merged": merge_id, "merged_name": gone["name"], "plugins": moved},
        )


async def merge_plugin_data(keep_id: int, merge_id: int, actor: Actor) -> list[Any]:
    """Plugins' rows follow the merge through the `customer_merge` hook."""
    from core.host import current
    from core.plugins import collect

    return await collect(current().pm.hook.customer_merge, keep_id=keep_id, merge_id=merge_id, actor=actor)


async def repoint(tables: dict[str, Any], keep_id: int, merge_id: int) -> dict[str, int]:
    """For a plugin's `customer_merge`: move rows of each table (label → table with a `customer` column)
    from the merged customer to the kept one; returns the counts moved, leaving out zeros."""
    moved = {}
    for label, table in tables.items():
        rows = await table.update({table.customer: keep_id}).where(table.customer == merge_id).returning(table.id)
        if rows:
            moved[label] = len(rows)
    return moved
