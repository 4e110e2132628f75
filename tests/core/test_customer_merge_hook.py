"""The customer_merge hook: a plugin's rows follow when two customers are merged."""

from __future__ import annotations

import pytest

from core.customers import duplicates, records
from core.customers.schemas import CustomerIn
from tests.example_plugin.tables import ExampleNote

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_plugin_rows_move_to_the_kept_customer(make_user, actor_for):
    amy = await actor_for(await make_user("amy", "admin"))
    keep = (await records.create_customer(amy, CustomerIn(name="珠海建慧贸易有限公司")))["id"]
    gone = (await records.create_customer(amy, CustomerIn(name="珠海建慧贸易公司")))["id"]
    await ExampleNote.insert(ExampleNote(owner=amy.user_id, text=f"customer:{gone} 报价单"))

    await duplicates.merge(amy, keep, gone)

    texts = [r["text"] for r in await ExampleNote.select(ExampleNote.text)]
    assert texts == [f"customer:{keep} 报价单"]


async def test_a_customer_holding_plugin_records_is_not_deleted(make_user, actor_for, client_for):
    boss = await make_user("boss", "admin")
    actor = await actor_for(boss)
    cid = (await records.create_customer(actor, CustomerIn(name="广州示例科技有限公司")))["id"]
    await ExampleNote.insert(ExampleNote(owner=boss, text=f"customer:{cid} keep this"))
    async with client_for(boss) as c:
        r = await c.delete(f"/api/v1/customers/{cid}")
        assert r.status_code == 409
        assert "示例记录 1" in r.json()["error"]
        assert (await c.get(f"/api/v1/customers/{cid}")).status_code == 200
        await ExampleNote.delete().where(ExampleNote.owner == boss)
        assert (await c.delete(f"/api/v1/customers/{cid}")).status_code in (200, 204)
        assert (await c.get(f"/api/v1/customers/{cid}")).status_code == 404
