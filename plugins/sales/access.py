"""Who may see or change which opportunity or need: the core scope resolver on their own
owner/department columns, and the customers module's scope for the customer they are attached to."""

from __future__ import annotations

from typing import Any

from litestar.exceptions import NotFoundException

from core.customers import access as customer_access
from core.customers.errors import InvalidInput
from core.perms.actor import Actor
from core.perms.scope import get_in_scope, scope_where
from plugins.sales.tables import Need, Opportunity

READ = "opportunities:read"
CREATE = "opportunities:create"
EDIT = "opportunities:edit"
DELETE = "opportunities:delete"
ASSIGN = "opportunities:assign"
EXPORT = "opportunities:export"
IMPORT = "opportunities:import"
NEEDS_READ = "needs:read"
NEEDS_EDIT = "needs:edit"
ANALYSIS = "sales:analysis"
SETTINGS = "sales:settings"
ANALYSIS_MODULE = "sales_analysis"


async def opportunity_where(actor: Actor, permission: str = READ) -> Any:
    return await scope_where(actor, permission, owner=Opportunity.owner, department=Opportunity.department)


async def opportunity_in_scope(actor: Actor, opportunity_id: int, permission: str = READ) -> dict[str, Any]:
    """The row, or 404 when it does not exist or lies outside the actor's scope for `permission`."""
    return await get_in_scope(actor, permission, Opportunity, opportunity_id, owner=Opportunity.owner,
                              department=Opportunity.department)


async def need_where(actor: Actor, permission: str = NEEDS_READ) -> Any:
    return await scope_where(actor, permission, owner=Need.owner, department=Need.department)


async def need_in_scope(actor: Actor, need_id: int, permission: str = NEEDS_READ) -> dict[str, Any]:
    return await get_in_scope(actor, permission, Need, need_id, owner=Need.owner, department=Need.department)


async def customer_for(actor: Actor, customer_id: int) -> dict[str, Any]:
    """The customer an opportunity or need is attached to: it must be in the actor's customer scope.

    Out of scope and missing read the same (a 400 naming the field), so nothing leaks.
    """
    try:
        return await customer_access.readable(actor, customer_id)
    except NotFoundException:
        raise InvalidInput(
            f"客户 {customer_id} 不存在或不在您的权限范围内 / customer {customer_id} does not exist or is outside "
            "your scope",
            errors=[{"row": None, "column": "customer_id",
                     "message": "“客户”：不存在或不在您的权限范围内 / field 'customer_id': not found or out of scope"}],
        ) from None
