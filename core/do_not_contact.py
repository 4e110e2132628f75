"""One answer to "may we contact this number?" across modules (谢绝来电, 退订, "不要再打").

Each plugin keeps its own list and answers the `do_not_contact` hook; this module unions the answers
and carries the news of additions as a domain event, so no plugin needs to import another.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.events import publish
from core.hooktypes import DoNotContactAdded
from core.host import current
from core.plugins import collect

ADDED = "do_not_contact.added"
CHUNK = 500  # numbers per hook call: keeps each plugin's IN (…) list short on both databases


async def blocked(numbers: Iterable[str]) -> set[str]:
    """The numbers (E.164) that any plugin's list says must not be called or texted."""
    unique = sorted(set(numbers))
    out: set[str] = set()
    hook = current().pm.hook.do_not_contact
    for i in range(0, len(unique), CHUNK):
        out.update(await collect(hook, numbers=unique[i : i + CHUNK]))
    return out


async def announce(numbers: list[str], source: str) -> None:
    """Tell every subscriber that these numbers were just added to `source`'s list."""
    if numbers:
        await publish(current().pm, ADDED, DoNotContactAdded(numbers=list(numbers), source=source))
