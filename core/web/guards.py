"""The app-wide guard: sign-in required unless a route is public, the route's permission, and the
licence's read-only phase (writes refused, reads allowed)."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from core import host
from core.web.middleware import UNSAFE


async def access_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    opt = handler.opt
    if opt.get("public") or connection.scope["path"].startswith("/schema"):  # the API's description is public
        return
    actor = connection.scope.get("user")
    if actor is None:
        raise NotAuthorizedException("请先登录 / please sign in")
    permission = opt.get("permission")
    if permission and not actor.can(permission):
        raise PermissionDeniedException(f"没有权限 / permission required: {permission}")
    if connection.scope.get("method") in UNSAFE and not opt.get("allow_read_only"):
        licence = host.current().licence
        if licence.read_only:
            raise PermissionDeniedException(
                "许可证已过期，系统处于只读状态 / the licence has expired: the system is read-only")
