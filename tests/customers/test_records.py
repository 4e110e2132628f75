"""Customers and contacts as a salesperson and a manager use them: create, find, change, share, delete."""

import msgspec
import pytest
from litestar.exceptions import NotFoundException, PermissionDeniedException

from core.audit.tables import AuditEvent
from core.customers import activity, duplicates, fields, records, search
from core.customers.errors import InvalidInput
from core.customers.schemas import (
    ContactIn,
    CustomerIn,
    CustomerPatch,
    FieldDefIn,
    FollowupIn,
    ListQuery,
)
from core.customers.tables import Contact, ContactPhone, Customer, OwnerHistory

pytestmark = [pytest.mark.db, pytest.mark.anyio]


@pytest.fixture
async def team(make_user, make_department, actor_for):
    root = await make_department("销售部")
    south = await make_department("华南组", root)
    east = await make_department("华东组", root)
    ids = {
        "boss": await make_user("boss", "manager", root),
        "south_mgr": await make_user("south_mgr", "manager", south),
        "amy": await make_user("amy", "sales", south),
        "bob": await make_user("bob", "sales", south),
        "eve": await make_user("eve", "sales", east),
        "admin": await make_user("admin", "admin", root),
    }
    return {k: await actor_for(v) for k, v in ids.items()}


async def _ids(actor, **kw):
    page = await search.list_customers(actor, ListQuery(**kw))
    return {r.id for r in page.items}


async def test_individual_gets_a_primary_contact_and_phones_are_normalised(team):
    out = await records.create_customer(
        team["amy"], CustomerIn(name="张三", kind="individual", phones=["138 0013 8000", "010-12345678"])
    )
    contacts = await records.contacts_of(out["id"])
    assert len(contacts) == 1 and contacts[0].is_primary and contacts[0].name == "张三"
    assert contacts[0].phones == ["+8613800138000", "+861012345678"]
    raw = await ContactPhone.select(ContactPhone.raw).where(ContactPhone.customer == out["id"])
    assert {r["raw"] for r in raw} == {"138 0013 8000", "010-12345678"}


async def test_keyword_search_finds_name_fragment_contact_phone_and_tag(team):
    amy = team["amy"]
    cid = (
        await records.create_customer(
            amy,
            CustomerIn(
                name="珠海建慧贸易有限公司", tags=["重点"], contacts=[ContactIn(name="李四", phones=["0756-3312345"])]
            ),
        )
    )["id"]
    await records.create_customer(amy, CustomerIn(name="深圳other科技"))
    for q in ("建慧", "李四", "重点", "0756 3312345", "+86 756 3312 345", "3312345", "珠海建慧"):
        assert await _ids(amy, q=q) == {cid}, q
    assert await _ids(amy, q="建慧 不存在") == set()


async def test_invalid_input_writes_nothing(team):
    before = await Customer.count()
    with pytest.raises(InvalidInput) as exc:
        await records.create_customer(
            team["amy"],
            CustomerIn(
                name="坏数据公司",
                credit_code="91350100M000100Y44",
                type="不存在",
                contacts=[ContactIn(name="王五", phones=["12345"])],
            ),
        )
    message = exc.value.message
    assert "统一社会信用代码" in message and "客户类型" in message and "电话" in message
    assert await Customer.count() == before
    assert await Contact.count() == 0


async def test_custom_fields_are_validated_and_filterable(team):
    await fields.define(team["admin"], FieldDefIn(key="grade", label="等级", kind="choice", options=["金", "银"]))
    await fields.define(team["admin"], FieldDefIn(key="budget", label="预算", kind="number"))
    with pytest.raises(InvalidInput, match="预算"):
        await records.create_customer(team["amy"], CustomerIn(name="甲", custom={"budget": "很多"}))
    gold = (await records.create_customer(team["amy"], CustomerIn(name="甲", custom={"grade": "金", "budget": "5"})))[
        "id"
    ]
    await records.create_customer(team["amy"], CustomerIn(name="乙", custom={"grade": "银"}))
    assert await _ids(team["amy"], custom={"grade": "金"}) == {gold}
    assert await _ids(team["amy"], custom={"budget": "5"}) == {gold}


async def test_update_records_a_diff_and_delete_removes_children(team):
    cid = (await records.create_customer(team["amy"], CustomerIn(name="旧名", phones=["13800138000"])))["id"]
    updated = await records.update_customer(team["amy"], cid, CustomerPatch(name="新名", level="A"))
    assert updated.name == "新名"
    row = await AuditEvent.select().where((AuditEvent.action == "update") & (AuditEvent.entity_id == str(cid))).first()
    assert msgspec.json.decode(row["diff"])["name"] == ["旧名", "新名"]
    assert await _ids(team["amy"], q="新名") == {cid}
    await activity.add_followup(team["amy"], FollowupIn(customer_id=cid, summary="聊过"))
    await records.delete_customer(team["amy"], cid)
    assert await Customer.count().where(Customer.id == cid) == 0
    assert await ContactPhone.count() == 0


async def test_scope_own_department_subtree_and_404(team):
    amy_c = (await records.create_customer(team["amy"], CustomerIn(name="amy的客户")))["id"]
    eve_c = (await records.create_customer(team["eve"], CustomerIn(name="eve的客户")))["id"]
    assert await _ids(team["amy"]) == {amy_c}
    assert await _ids(team["bob"]) == set()
    assert await _ids(team["south_mgr"]) == {amy_c}
    assert await _ids(team["boss"]) == {amy_c, eve_c}
    with pytest.raises(NotFoundException):
        await records.detail(team["amy"], eve_c)
    with pytest.raises(NotFoundException):
        await records.update_customer(team["bob"], amy_c, CustomerPatch(name="偷改"))
    with pytest.raises(NotFoundException):
        await records.detail(team["amy"], 999_999)
    assert await search.count_customers(team["bob"], ListQuery()) == 0


async def test_share_read_and_edit_and_lists(team):
    amy, bob = team["amy"], team["bob"]
    cid = (await records.create_customer(amy, CustomerIn(name="共享客户")))["id"]
    await records.share(amy, cid, user_id=bob.user_id, department_id=None, level="read")
    assert await _ids(bob, view="shared_with_me") == {cid}
    assert await _ids(amy, view="shared_by_me") == {cid}
    await records.detail(bob, cid)
    with pytest.raises(NotFoundException):
        await records.update_customer(bob, cid, CustomerPatch(name="改"))
    await records.share(amy, cid, user_id=bob.user_id, department_id=None, level="edit")
    await records.update_customer(bob, cid, CustomerPatch(needs="要报价"))
    share_id = (await records.shares_of(amy, cid))[0]["id"]
    await records.unshare(amy, cid, share_id)
    assert await _ids(bob, view="all") == set()


async def test_favourites(team):
    amy = team["amy"]
    a = (await records.create_customer(amy, CustomerIn(name="甲公司")))["id"]
    await records.create_customer(amy, CustomerIn(name="乙公司"))
    await records.set_star(amy, a, True)
    assert await _ids(amy, view="stars") == {a}
    assert (await records.detail(amy, a)).starred
    await records.set_star(amy, a, False)
    assert await _ids(amy, view="stars") == set()


async def test_customer_types_per_role_filter_lists_and_creation(team):
    from core.perms.tables import Role

    await Role.update({Role.customer_types: "潜在,意向"}).where(Role.key == "sales")
    from core.auth.actors import load_actor

    amy = await load_actor(team["amy"].user_id)
    with pytest.raises(InvalidInput, match="无权使用类型"):
        await records.create_customer(amy, CustomerIn(name="供应商甲", type="供应商"))
    a = (await records.create_customer(amy, CustomerIn(name="潜在甲", type="潜在")))["id"]
    b = (
        await records.create_customer(team["admin"], CustomerIn(name="供应商乙", type="供应商", owner_id=amy.user_id))
    )["id"]
    assert await _ids(amy) == {a}
    with pytest.raises(NotFoundException):
        await records.detail(amy, b)


async def test_duplicates_are_warned_and_merged(team):
    amy = team["amy"]
    a = (await records.create_customer(amy, CustomerIn(name="珠海建慧贸易有限公司", phones=["13800138000"])))["id"]
    out = await records.create_customer(amy, CustomerIn(name="珠海 建慧贸易（有限公司）"))
    assert [d["id"] for d in out["duplicates"]] == [a]
    out2 = await records.create_customer(amy, CustomerIn(name="别名", phones=["+86 138 0013 8000"]))
    assert out2["duplicates"][0]["reasons"] == ["phone"]
    await activity.add_followup(amy, FollowupIn(customer_id=out2["id"], summary="电话沟通"))
    await duplicates.merge(amy, a, out2["id"])
    assert len(await activity.followups_of(amy, a)) == 1
    assert len(await records.contacts_of(a)) == 2
    with pytest.raises(NotFoundException):
        await records.detail(amy, out2["id"])


async def test_creation_writes_owner_history_and_audit(team):
    cid = (await records.create_customer(team["amy"], CustomerIn(name="历史")))["id"]
    hist = await OwnerHistory.select().where(OwnerHistory.customer == cid)
    assert [(h["action"], h["to_user"]) for h in hist] == [("create", team["amy"].user_id)]
    actions = {r["action"] for r in await AuditEvent.select(AuditEvent.action)}
    assert {"create"} <= actions
    await records.detail(team["amy"], cid)
    await search.list_customers(team["amy"], ListQuery(q="历史"))
    q = await AuditEvent.select().where(AuditEvent.action == "query").first()
    meta = msgspec.json.decode(q["meta"])
    assert meta["rows"] == 1 and meta["filters"]["q"] == "历史"
    assert await AuditEvent.count().where(AuditEvent.action == "view") == 1


async def test_keyset_pagination_walks_every_row_once(team):
    amy = team["amy"]
    made = {(await records.create_customer(amy, CustomerIn(name=f"客户{i:02d}")))["id"] for i in range(7)}
    for sort in ("id", "name", "created_at"):
        seen, after = [], ""
        while True:
            page = await search.list_customers(amy, ListQuery(limit=3, sort=sort, after=after, desc=sort != "name"))
            seen += [r.id for r in page.items]
            if not page.next:
                break
            after = page.next
        assert sorted(seen) == sorted(made) and len(seen) == len(made), sort


async def test_sales_cannot_assign_owner_on_create(team):
    with pytest.raises(InvalidInput, match="分派"):
        await records.create_customer(team["amy"], CustomerIn(name="甲", owner_id=team["bob"].user_id))
    with pytest.raises(PermissionDeniedException):
        from core.customers import assign
        from core.customers.schemas import AssignIn

        await assign.assign(team["amy"], AssignIn(to_user_id=team["bob"].user_id, customer_ids=[1]))
