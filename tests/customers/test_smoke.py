import pytest

pytestmark = [pytest.mark.db, pytest.mark.anyio]


async def test_create_and_find(make_user, actor_for):
    from core.customers import records, search
    from core.customers.schemas import CustomerIn, ListQuery

    uid = await make_user("alice")
    actor = await actor_for(uid)
    out = await records.create_customer(actor, CustomerIn(name="珠海建慧贸易有限公司", phones=["138 0013 8000"]))
    page = await search.list_customers(actor, ListQuery(q="建慧"))
    assert [r.id for r in page.items] == [out["id"]]
    page = await search.list_customers(actor, ListQuery(q="+86 138-0013-8000"))
    assert [r.id for r in page.items] == [out["id"]]
