"""Pages for custom-field definitions, merging duplicates, editing contacts and the import column mapping."""

import pytest

pytestmark = [pytest.mark.anyio, pytest.mark.db]

HX = {"hx-request": "true"}


async def test_custom_field_definitions_page(make_user, client_for):
    from core.customers.tables import Customer

    boss = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    async with client_for(boss) as c:
        page = await c.get("/customers/fields")
        assert page.status_code == 200 and "暂无自定义字段" in page.text
        for data in (
            {"key": "budget", "label": "预算", "kind": "number"},
            {"key": "visit_on", "label": "拜访日期", "kind": "date"},
            {"key": "grade", "label": "评级", "kind": "choice", "options": "甲，乙\n丙"},
            {"key": "products", "label": "意向产品", "kind": "multi", "options": "软件,硬件"},
            {"key": "memo", "label": "备注", "kind": "text", "required": "1"},
        ):
            r = await c.post("/customers/fields", data=data, headers=HX)
            assert r.status_code in (200, 201) and r.headers.get("hx-redirect") == "/customers/fields", r.text
        r = await c.post("/customers/fields", data={"key": "grade", "label": "x"}, headers=HX)
        assert "已存在" in r.text
        r = await c.post("/customers/fields", data={"key": "opts", "label": "x", "kind": "choice"}, headers=HX)
        assert "至少一个选项" in r.text
        r = await c.post("/customers/fields", data={"key": "Bad Key", "label": "x"}, headers=HX)
        assert "字段无效" in r.text
        page = await c.get("/customers/fields")
        assert "预算" in page.text and "甲，乙，丙" in page.text and "多选" in page.text
        assert "/customers/fields" in (await c.get("/admin")).text
        form = await c.get("/customers/new")
        assert 'name="custom.grade"' in form.text and 'name="custom.products" multiple' in form.text
        assert 'name="custom.budget" type="number"' in form.text
        r = await c.post(
            "/customers/new",
            data={
                "name": "字段测试公司",
                "custom.budget": "12.5",
                "custom.grade": "乙",
                "custom.products": ["软件", "硬件"],
                "custom.memo": "重点",
            },
            headers=HX,
        )
        assert r.headers.get("hx-redirect", "").startswith("/customers/"), r.text
        row = await Customer.select(Customer.custom).where(Customer.name == "字段测试公司").first()
        assert '"products":["软件","硬件"]' in row["custom"] and '"budget":12.5' in row["custom"]
        r = await c.post("/customers/new", data={"name": "缺字段公司"}, headers=HX)
        assert "必填" in r.text
    async with client_for(amy) as c:
        assert (await c.get("/customers/fields")).status_code == 403
        assert (await c.post("/customers/fields", data={"key": "k", "label": "x"}, headers=HX)).status_code == 403


async def test_merge_a_duplicate_from_the_customer_page(make_user, client_for):
    from core.customers.tables import Contact, Customer, Followup

    boss = await make_user("boss", "admin")
    amy = await make_user("amy", "sales")
    async with client_for(boss) as c:
        keep = (
            await c.post(
                "/api/v1/customers",
                json={"name": "珠海建慧贸易有限公司", "tags": ["老客户"], "phones": ["13800138000"]},
            )
        ).json()["id"]
        gone = (
            await c.post(
                "/api/v1/customers",
                json={
                    "name": "珠海 建慧贸易（有限公司）",
                    "tags": ["华南"],
                    "contacts": [{"name": "李四", "phones": ["138 0013 8000"]}],
                },
            )
        ).json()["id"]
        await c.post("/api/v1/followups", json={"customer_id": gone, "summary": "首次电话"})
        page = await c.get(f"/customers/{keep}")
        assert "合并到此客户" in page.text and f'name="merge_id" value="{gone}"' in page.text
        assert "hx-confirm" in page.text
        r = await c.post(f"/customers/{keep}/merge", data={"merge_id": str(keep)}, headers=HX)
        assert "不能与自身合并" in r.text
        r = await c.post(f"/customers/{keep}/merge", data={"merge_id": str(gone)}, headers=HX)
        assert r.headers.get("hx-redirect") == f"/customers/{keep}", r.text
        assert not await Customer.exists().where(Customer.id == gone)
        assert await Contact.exists().where((Contact.customer == keep) & (Contact.name == "李四"))
        assert await Followup.count().where(Followup.customer == keep) == 1
        tags = (await Customer.select(Customer.tags).where(Customer.id == keep).first())["tags"]
        assert set(tags.split(",")) == {"老客户", "华南"}
        page = await c.get(f"/customers/{keep}")
        assert "合并到此客户" not in page.text
        other = (await c.post("/api/v1/customers", json={"name": "别人家公司"})).json()["id"]
    async with client_for(amy) as c:
        mine = (await c.post("/api/v1/customers", json={"name": "别人家公司"})).json()["id"]
        r = await c.post(f"/customers/{mine}/merge", data={"merge_id": str(other)}, headers=HX)
        assert "无权合并" in r.text
        assert await Customer.exists().where(Customer.id == other)


async def test_edit_and_delete_a_contact_from_the_customer_page(make_user, make_department, client_for):
    from core.customers.tables import Contact, ContactPhone

    dept = await make_department("华南组")
    amy = await make_user("amy", "sales", dept)
    eve = await make_user("eve", "sales", dept)
    async with client_for(amy) as c:
        cid = (
            await c.post(
                "/api/v1/customers",
                json={"name": "联系人测试公司", "contacts": [{"name": "李四", "phones": ["13800138000"]}]},
            )
        ).json()["id"]
        pid = (await Contact.select(Contact.id).where(Contact.customer == cid).first())["id"]
        tab = await c.get(f"/customers/{cid}/tab/contacts", headers=HX)
        assert f'hx-get="/customers/{cid}/contacts/{pid}/edit"' in tab.text
        assert f'hx-delete="/customers/{cid}/contacts/{pid}"' in tab.text and "hx-confirm" in tab.text
        form = await c.get(f"/customers/{cid}/contacts/{pid}/edit", headers=HX)
        assert f'hx-patch="/customers/{cid}/contacts/{pid}"' in form.text and 'value="李四"' in form.text
        r = await c.patch(
            f"/customers/{cid}/contacts/{pid}",
            data={
                "name": "李四光",
                "title": "经理",
                "phones": "13900139000，020-12345678",
                "email": "li@example.com",
                "wechat": "lisi_wx",
                "birthday": "1980-05-06",
                "notes": "周一上午方便",
                "employed": "0",
            },
            headers=HX,
        )
        assert r.status_code == 200 and "李四光" in r.text and "离职" in r.text, r.text
        row = await Contact.select().where(Contact.id == pid).first()
        assert (row["title"], row["email"], row["wechat"], row["notes"], row["employed"]) == (
            "经理",
            "li@example.com",
            "lisi_wx",
            "周一上午方便",
            False,
        )
        assert {p["e164"] for p in await ContactPhone.select(ContactPhone.e164).where(ContactPhone.contact == pid)} == {
            "+8613900139000",
            "+862012345678",
        }
        r = await c.patch(f"/customers/{cid}/contacts/{pid}", data={"name": "李四光", "phones": "12"}, headers=HX)
        assert "电话" in r.text and 'id="contact-edit"' in r.text
        r = await c.patch(f"/customers/{cid}/contacts/{pid}", data={"name": "", "phones": ""}, headers=HX)
        assert "联系人信息无效" in r.text
        r = await c.patch(f"/customers/{cid}/contacts/{pid}", data={"name": "x", "birthday": "5/6"}, headers=HX)
        assert "生日格式" in r.text
    async with client_for(eve) as c:
        assert (await c.get(f"/customers/{cid}/contacts/{pid}/edit", headers=HX)).status_code == 404
        assert (await c.delete(f"/customers/{cid}/contacts/{pid}", headers=HX)).status_code == 404
        other = (await c.post("/api/v1/customers", json={"name": "别家公司"})).json()["id"]
        assert (await c.delete(f"/customers/{other}/contacts/{pid}", headers=HX)).status_code == 404
    async with client_for(amy) as c:
        assert (await c.delete(f"/customers/{other}/contacts/{pid}", headers=HX)).status_code == 404
        r = await c.delete(f"/customers/{cid}/contacts/{pid}", headers=HX)
        assert r.status_code == 200 and "暂无联系人" in r.text
        assert not await Contact.exists().where(Contact.id == pid)
        assert not await ContactPhone.exists().where(ContactPhone.contact == pid)


async def test_import_page_lets_the_user_adjust_the_column_mapping(make_user, client_for):
    from core.customers.tables import ContactPhone, Customer

    boss = await make_user("boss", "manager")
    content = "公司,号码,备注\n甲公司,13800138000,x\n乙公司,13900139000,y\n".encode()
    files = {"file": ("a.csv", content, "text/csv")}
    async with client_for(boss) as c:
        page = await c.get("/customers/import")
        assert 'id="import-result"' in page.text
        r = await c.post("/customers/import", files=files, data={"mode": "create"}, headers=HX)
        assert "找不到“客户名称”列" in r.text
        assert 'name="map.0.header" value="公司"' in r.text and 'name="map.2.field"' in r.text
        assert '<option value="name">客户名称</option>' in r.text
        mapping = {
            "map.0.header": "公司",
            "map.0.field": "name",
            "map.1.header": "号码",
            "map.1.field": "phone",
            "map.2.header": "备注",
            "map.2.field": "",
        }
        r = await c.post("/customers/import", files=files, data={"mode": "create", **mapping}, headers=HX)
        assert "共 2 行" in r.text and "新增 2" in r.text and "预检完成" in r.text, r.text
        assert '<option value="name" selected>' in r.text and '<option value="phone" selected>' in r.text
        assert await Customer.count() == 0
        dup = {**mapping, "map.2.field": "name"}
        r = await c.post("/customers/import", files=files, data={"mode": "create", **dup}, headers=HX)
        assert "同一字段只能对应一列" in r.text
        r = await c.post(
            "/customers/import", files=files, data={"mode": "create", "commit": "1", **mapping}, headers=HX
        )
        assert "已导入，批次号" in r.text and "import-mapping" not in r.text
        assert {r["name"] for r in await Customer.select(Customer.name)} == {"甲公司", "乙公司"}
        assert await ContactPhone.count() == 2
        r = await c.post("/customers/import", files={"file": ("a.csv", b"", "text/csv")}, headers=HX)
        assert "0 字节" in r.text


async def test_edit_page_shows_and_saves_custom_fields(make_user, client_for):
    from core.customers.tables import Customer

    boss = await make_user("boss", "admin")
    eve = await make_user("eve", "sales")
    async with client_for(boss) as c:
        await c.post("/customers/fields", data={"key": "grade", "label": "评级", "kind": "choice", "options": "甲,乙"})
        await c.post(
            "/customers/fields", data={"key": "products", "label": "意向产品", "kind": "multi", "options": "软件,硬件"}
        )
        await c.post("/customers/fields", data={"key": "budget", "label": "预算", "kind": "number"})
        cid = (
            await c.post(
                "/api/v1/customers", json={"name": "编辑测试公司", "tags": ["老客户"], "custom": {"budget": 3}}
            )
        ).json()["id"]
        assert f'href="/customers/{cid}/edit"' in (await c.get(f"/customers/{cid}")).text
        form = await c.get(f"/customers/{cid}/edit")
        assert form.status_code == 200 and f'hx-patch="/customers/{cid}"' in form.text
        assert 'value="编辑测试公司"' in form.text and 'name="custom.budget" value="3"' in form.text
        assert 'name="custom.products" multiple' in form.text
        r = await c.patch(
            f"/customers/{cid}",
            data={
                "kind": "enterprise",
                "name": "编辑后公司",
                "type": "潜在",
                "industry": "制造",
                "tags": "老客户，华南",
                "custom.grade": "乙",
                "custom.products": ["硬件"],
                "custom.budget": "",
            },
            headers=HX,
        )
        assert r.headers.get("hx-redirect") == f"/customers/{cid}", r.text
        row = await Customer.select().where(Customer.id == cid).first()
        assert (row["name"], row["industry"], row["tags"]) == ("编辑后公司", "制造", "老客户,华南")
        assert row["custom"] == '{"grade":"乙","products":["硬件"]}'
        form = await c.get(f"/customers/{cid}/edit")
        assert "<option selected>乙</option>" in form.text and "<option selected>硬件</option>" in form.text
        r = await c.patch(
            f"/customers/{cid}", data={"kind": "enterprise", "name": "编辑后公司", "custom.grade": "丙"}, headers=HX
        )
        assert "不在选项" in r.text
    async with client_for(eve) as c:
        assert (await c.get(f"/customers/{cid}/edit")).status_code == 404
        r = await c.patch(f"/customers/{cid}", data={"kind": "enterprise", "name": "x"}, headers=HX)
        assert r.status_code == 404
