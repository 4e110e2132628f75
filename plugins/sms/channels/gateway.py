"""An HTTP SMS gateway adapter (one example; configured by the SMS settings).

The protocol is a plain JSON one many Chinese aggregators resemble:
    POST {url}/send      {"to": "+8613800138000", "text": "…", "sender": "…"}  → {"id": "abc", "parts": 1}
    GET  {url}/reports?ids=a,b                                                → {"reports": [{"id", "status", "error"}]}
    GET  {url}/balance                                                        → {"balance": "123.45", "currency": "CNY"}
with `Authorization: Bearer <key>`. 4xx answers are final (bad number, rejected content); 5xx and
network errors are retried.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from plugins.sms.channels.base import ChannelUnavailable, Outcome, Report, Session
from plugins.sms.config import SmsSettings

TIMEOUT = 10.0


def _client(settings: SmsSettings) -> Any:
    import httpx  # only needed when a gateway is configured

    headers = {"Authorization": f"Bearer {settings.gateway_key}"} if settings.gateway_key else {}
    return httpx.AsyncClient(base_url=settings.gateway_url.rstrip("/"), headers=headers, timeout=TIMEOUT)


def _error_of(response: Any) -> str:
    try:
        body = response.json()
        return str(body.get("error") or body)[:300]
    except ValueError:
        return response.text[:300]


class GatewaySession:
    concurrency = 8

    def __init__(self, client: Any, settings: SmsSettings) -> None:
        self.client = client
        self.settings = settings

    async def send(self, number: str, text: str, parts: int) -> Outcome:
        import httpx

        try:
            r = await self.client.post("/send", json={"to": number, "text": text,
                                                      "sender": self.settings.gateway_sender})
        except httpx.HTTPError as exc:
            return Outcome(ok=False, error=f"短信网关无法连接：{exc!r} / gateway unreachable")
        if r.status_code >= 500:
            return Outcome(ok=False, error=f"短信网关出错 {r.status_code}：{_error_of(r)} / gateway error")
        if r.status_code >= 400:
            return Outcome(ok=False, retryable=False,
                           error=f"短信网关拒绝 {r.status_code}：{_error_of(r)} / gateway rejected the message")
        return Outcome(ok=True, provider_id=str(r.json().get("id", "")), sim="gateway")

    async def reports(self, provider_ids: list[str]) -> list[Report]:
        import httpx

        if not provider_ids:
            return []
        try:
            r = await self.client.get("/reports", params={"ids": ",".join(provider_ids)})
            r.raise_for_status()
        except httpx.HTTPError:
            return []
        return [Report(provider_id=str(x["id"]), state=str(x["status"]), error=str(x.get("error", "")))
                for x in r.json().get("reports", []) if x.get("status") in ("delivered", "failed")]


class GatewayChannel:
    name = "gateway"
    label = "短信网关"
    reports_delivery = True

    def configured(self, settings: SmsSettings) -> str:
        if not settings.gateway_url:
            return "没有配置短信通道：请在短信设置中填写短信网关地址 / no SMS channel configured: set the gateway URL"
        return ""

    @asynccontextmanager
    async def open(self, settings: SmsSettings, now: dt.datetime) -> AsyncIterator[Session]:
        try:
            client = _client(settings)
        except ImportError as exc:
            raise ChannelUnavailable("缺少 httpx / httpx is not installed") from exc
        async with client:
            yield GatewaySession(client, settings)

    async def balance(self, settings: SmsSettings) -> str | None:
        import httpx

        if self.configured(settings):
            return None
        try:
            async with _client(settings) as client:
                r = await client.get("/balance")
                r.raise_for_status()
                body = r.json()
        except (httpx.HTTPError, ValueError):
            return None
        return f"{body.get('balance')} {body.get('currency', 'CNY')}"
