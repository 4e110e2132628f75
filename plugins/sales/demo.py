"""Demo rows for `waihubao demo`: a few customers and opportunities at different stages for the demo sales staff."""

from __future__ import annotations

import datetime as dt

from core import host
from core.auth.actors import load_actor
from core.customers.records import create_customer
from core.customers.schemas import ContactIn, CustomerIn
from core.db import write_tx
from plugins.sales import records
from plugins.sales.schemas import NeedIn, OpportunityIn, OpportunityPatch

DEMO = [
    # user, customer, opportunity, stage, amount, days to close
    ("lixs", "珠海建慧贸易有限公司", "外呼盒子 5 台及 CRM 团队版", "方案报价", "24500.00", 20),
    ("lixs", "深圳鼎盛电子有限公司", "团队版年度续约", "商务谈判", "4900.00", 7),
    ("lixs", "广州远航物流有限公司", "短信服务套餐", "赢单", "3600.00", -3),
    ("zhaoxs", "杭州天成科技有限公司", "外呼宝个人版", "线索收集", "990.00", 45),
    ("zhaoxs", "成都宏图商贸有限公司", "呼叫中心改造", "需求确认", "58000.00", 60),
    ("wangjl", "上海恒通实业有限公司", "集团外呼方案", "输单", "120000.00", -10),
]


async def seed(users: dict[str, int]) -> None:
    today = host.today()
    for username, customer, name, stage, amount, days in DEMO:
        if username not in users:
            continue
        actor = await load_actor(users[username])
        if actor is None:
            continue
        result = await create_customer(actor, CustomerIn(
            name=customer, type="意向", source="电话营销",
            contacts=[ContactIn(name="王先生", title="采购经理")]))
        opp = await records.create(actor, OpportunityIn(
            name=name, customer_id=result["id"], start_date=today - dt.timedelta(days=30),
            expected_close=today + dt.timedelta(days=max(days, 0) or 1), amount=amount, source="电话营销",
            importance="高" if days < 15 else "中", needs=["外呼设备", "CRM 软件"]))
        if stage != opp.stage:
            async with write_tx():
                await records.update(actor, opp.id, OpportunityPatch(stage="需求确认"))
                await records.update(actor, opp.id, OpportunityPatch(stage=stage))
        if username == "lixs" and days == 20:
            from plugins.sales.needs import create as create_need

            await create_need(actor, NeedIn(customer_id=result["id"], title="需要试用外呼盒子一周", type="产品",
                                            cycle_days=7))
