"""Demo rows: two 常用短信 templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.db import write_tx
from plugins.sms.tables import SmsTemplate

DEMO_TEMPLATES = [
    ("节日问候", "{联系人}您好，{客户名称}的朋友们节日快乐！感谢一直以来的支持。"),
    ("报价跟进", "{联系人}您好，给{客户名称}的报价已发到您邮箱，有疑问请随时回复本短信。回TD退订"),
]


async def seed(users: dict[str, Any]) -> None:
    now = dt.datetime.now(dt.UTC)
    owner = next(iter(users.values()), None)
    async with write_tx():
        for name, body in DEMO_TEMPLATES:
            await SmsTemplate.insert(SmsTemplate(name=name, body=body, shared=True, owner=owner,
                                                 created_at=now, updated_at=now))
