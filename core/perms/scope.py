"""The scope resolver: (actor, permission) → a query filter, used on every read and write path.

Every list, detail, update, delete, export, aggregate and search of a scoped record goes through
`scope_where`; a record outside it does not exist for the caller (404, never 403).
"""

from __future__ import annotations

from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException
from piccolo.columns import Column
from piccolo.columns.combination import Or, Where, WhereRaw
from piccolo.table import Table

from core.org.tables import Department
from core.perms.actor import Actor

NOTHING = WhereRaw("1 = 0")


async def department_subtree(root_id: int) -> list[int]:
    """The department and all departments below it."""
    rows = await Department.select(Department.id, Department.parent)
    children: dict[int | None, list[int]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row["id"])
    out, stack = [], [root_id]
    while stack:
        dept = stack.pop()
        out.append(dept)
        stack.extend(children.get(dept, []))
    return out


async def scope_where(
    actor: Actor,
    permission: str,
    *,
    owner: Column,
    department: Column | None = None,
    also: Any = None,
) -> Any:
    """A where-clause limiting `owner`/`department` columns to what `actor` may reach with `permission`.

    Returns None when the actor reaches everything. `also` is OR-ed in (e.g. records shared with the
    actor). Raises 403 when the actor lacks the permission altogether.
    """
    scope = actor.scope_of(permission)
    if scope is None:
        raise PermissionDeniedException(f"没有权限 / permission required: {permission}")
    if scope == "all":
        return None
    clause: Any
    if scope == "own" or actor.department_id is None or department is None:
        clause = owner == actor.user_id if actor.user_id is not None else NOTHING
    elif scope == "department":
        clause = Or(owner == actor.user_id, department == actor.department_id)
    else:
        clause = Or(owner == actor.user_id, department.is_in(await department_subtree(actor.department_id)))
    return Or(clause, also) if also is not None else clause


def where_all(*clauses: Any) -> Any:
    """AND together the non-None clauses (None when there are none)."""
    out = None
    for clause in clauses:
        if clause is None:
            continue
        out = clause if out is None else (out & clause)
    return out


async def get_in_scope(
    actor: Actor,
    permission: str,
    table: type[Table],
    pk: int,
    *,
    owner: Column,
    department: Column | None = None,
    also: Any = None,
) -> dict[str, Any]:
    """One row by primary key, or 404 when it does not exist *or* lies outside the actor's scope."""
    clause = where_all(table._meta.primary_key == pk, await scope_where(
        actor, permission, owner=owner, department=department, also=also))
    row = await table.select().where(clause).first()
    if row is None:
        raise NotFoundException("记录不存在 / not found")
    return row


__all__ = ["NOTHING", "Where", "department_subtree", "get_in_scope", "scope_where", "where_all"]
