"""Errors: JSON for the API ({"error", "status", "detail"}), a readable page for the browser.
Signed-out browser requests go to the login page; nothing internal leaks (500s are generic)."""

from __future__ import annotations

from urllib.parse import quote

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, SerializationException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from core import host
from core.web.responses import is_api

log = structlog.get_logger(__name__)

TITLES = {400: "请求有误", 401: "请先登录", 403: "没有权限", 404: "页面不存在", 405: "不支持的操作",
          409: "冲突", 413: "文件太大", 429: "请求过于频繁", 500: "系统错误"}


def _message(exc: Exception, status: int) -> str:
    if status >= 500:
        return "系统错误，请稍后再试 / internal error"
    if isinstance(exc.__cause__, SerializationException):
        return f"请求体不是有效的 JSON / the request body is not valid JSON: {exc.__cause__}"
    return exc.detail if isinstance(exc, HTTPException) else str(exc)


def handle_exception(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else HTTP_500_INTERNAL_SERVER_ERROR
    if status >= 500:
        log.exception("unhandled error", exc_info=exc)
    message = _message(exc, status)
    if is_api(request.url.path) or request.headers.get("accept", "").startswith("application/json"):
        body: dict = {"error": message, "status": status}
        if isinstance(exc, ValidationException) and exc.extra:
            body["detail"] = exc.extra
        return Response(body, status_code=status, headers=getattr(exc, "headers", None) or None)
    if isinstance(exc, NotAuthorizedException) and not request.headers.get("hx-request"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/login?next={quote(target)}")
    if request.headers.get("hx-request"):
        return Template(template_name="_error.html", context={"status": status, "message": message},
                        status_code=status, headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return Template(
        template_name="error.html",
        context={"status": status, "title": TITLES.get(status, "错误"), "message": message,
                 "licence": host.current().licence},
        status_code=status,
    )
