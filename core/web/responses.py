"""Small helpers shared by core's and plugins' handlers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from core import host
from core.perms.actor import Actor


def actor_of(request: Request) -> Actor:
    return request.scope["user"]


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def page(template: str, request: Request, **context: Any) -> Template:
    """Render a page with what every layout needs (the actor, the licence banner)."""
    return Template(template_name=template, context={"licence": host.current().licence, **context})
