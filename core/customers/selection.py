"""What a customer-list action receives: the ticked customers, or everything the current filter matches.

The customers list submits to an action's page (a plugin's, through the `customer_list_actions` hook) as
GET parameters: `selection=ticked` with repeated `ids`, or `selection=filter` with `filter` — the list's
own query parameters as JSON. `from_params` turns either into a `CustomerSelection` the plugin passes on
to its own code (the dialer's campaign, SMS recipients), where the caller's scope applies as always.
"""

from __future__ import annotations

from typing import Any

import msgspec

from core.customers.errors import InvalidInput
from core.customers.schemas import ListQuery

_NOT_FILTERS = {"after", "limit"}


class CustomerSelection(msgspec.Struct, kw_only=True, frozen=True):
    ids: list[int] = []
    filter: ListQuery | None = None

    @property
    def empty(self) -> bool:
        return not self.ids and self.filter is None


def filter_json(params: dict[str, str]) -> str:
    """The list's current query parameters as the JSON the `filter` parameter carries."""
    return msgspec.json.encode({k: v for k, v in params.items() if k not in _NOT_FILTERS and v != ""}).decode()


def query_of(data: dict[str, Any]) -> ListQuery:
    custom = {k.removeprefix("custom."): str(v) for k, v in data.items() if k.startswith("custom.")}
    fields = {k: v for k, v in data.items() if k in ListQuery.__struct_fields__ and k not in _NOT_FILTERS}
    try:
        return msgspec.convert({**fields, "custom": custom or fields.get("custom", {}), "limit": 500}, ListQuery,
                               strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"客户筛选条件无效：{exc} / invalid customer filter: {exc}") from exc


def from_params(params: Any) -> CustomerSelection:
    """From a query-string multidict (`request.query_params`) or a form."""
    if params.get("selection") == "filter":
        try:
            data = msgspec.json.decode(params.get("filter") or "{}")
        except msgspec.DecodeError as exc:
            raise InvalidInput("客户筛选条件无效 / invalid customer filter") from exc
        if not isinstance(data, dict):
            raise InvalidInput("客户筛选条件无效 / invalid customer filter")
        return CustomerSelection(filter=query_of(data))
    raw = params.getall("ids", []) if hasattr(params, "getall") else params.get("ids", [])
    ids = [int(x) for x in raw if str(x).isdigit()]
    return CustomerSelection(ids=list(dict.fromkeys(ids)))
