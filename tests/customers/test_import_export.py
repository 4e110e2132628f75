"""Import (xlsx/csv, UTF-8/GBK, Chinese/English headers, dry run, all-or-nothing, undo) and export."""

import csv
import io

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from core.audit.tables import AuditEvent
from core.customers import exporter, importer, records, search
from core.customers.errors import InvalidInput
from core.customers.importer import ImportOptions
from core.customers.schemas import CustomerIn, ListQuery
from core.customers.tables import Contact, ContactPhone, Customer

pytestmark = [pytest.mark.db, pytest.mark.anyio]


def xlsx(rows: list[list]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, float | int):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, value)
    book.close()
    return out.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.fixture
async def manager(make_user, make_department, actor_for):
    dept = await make_department("销售部")
    return await actor_for(await make_user("mgr", "manager", dept))


async def test_xlsx_with_chinese_headers_and_excel_number_phones(manager):
    data = xlsx(
        [
            ["客户名称", "联系人", "手机", "客户类型", "统一社会信用代码", "标签"],
            ["珠海建慧贸易有限公司", "李四", 13800138000.0, "意向", "91350100M000100Y43", "重点,华南"],
            ["深圳某某科技", "王五", "0755 1234 5678", "", "", ""],
        ]
    )
    report = await importer.commit(manager, data, "客户.xlsx", ImportOptions())
    assert (report.create, report.update, report.errors) == (2, 0, [])
    page = await search.list_customers(manager, ListQuery(q="138-0013-8000"))
    assert [r.name for r in page.items] == ["珠海建慧贸易有限公司"]
    assert [c.name for c in await records.contacts_of(page.items[0].id)] == ["李四"]
    assert (await search.list_customers(manager, ListQuery(q="李四"))).items
    assert (await search.list_customers(manager, ListQuery(q="建慧"))).items
    assert (await search.list_customers(manager, ListQuery(tag="华南"))).items


async def test_gbk_csv_with_english_headers(manager):
    data = csv_bytes(
        [["Name", "Contact", "Phone", "Type"], ["广州测试有限公司", "赵六", "+86 139 0013 9000", "潜在"]], "gbk"
    )
    report = await importer.commit(manager, data, "list.csv", ImportOptions())
    assert report.create == 1 and report.mapping["Name"] == "name"
    assert await ContactPhone.count().where(ContactPhone.e164 == "+8613900139000") == 1


async def test_dry_run_lists_every_bad_row_and_commit_writes_nothing(manager):
    data = xlsx(
        [
            ["客户名称", "电话", "客户类型", "统一社会信用代码"],
            ["好公司", "13800138000", "潜在", ""],
            ["", "13800138001", "潜在", ""],
            ["坏电话", "12345", "潜在", ""],
            ["坏类型", "13800138002", "外星人", ""],
            ["坏代码", "13800138003", "潜在", "91350100M000100Y44"],
            ["重复电话", "138 0013 8000", "潜在", ""],
            ["小数电话", 1.38001380005e10, "潜在", ""],
        ]
    )
    report = await importer.dry_run(manager, data, "x.xlsx", ImportOptions())
    messages = [e["message"] for e in report.errors]
    assert any("第 3 行 “客户名称” 列" in m for m in messages)
    assert any("第 4 行 “电话” 列" in m for m in messages)
    assert any("第 5 行 “客户类型” 列" in m for m in messages)
    assert any("第 6 行 “统一社会信用代码” 列" in m for m in messages)
    assert any("第 7 行" in m and "与第 2 行重复" in m for m in messages)
    assert any("第 8 行" in m and "小数" in m for m in messages)
    with pytest.raises(InvalidInput):
        await importer.commit(manager, data, "x.xlsx", ImportOptions())
    assert await Customer.count() == 0 and await Contact.count() == 0


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        (b"", "a.xlsx", "0 字节"),
        (b"this is not a spreadsheet at all", "a.xlsx", "不是 Excel"),
        (b"PK\x03\x04garbage", "a.xlsx", "无法读取"),
        (b"\x00\x01\x02\xff\xfe", "a.csv", "无法识别"),
        ('客户名称\n=HYPERLINK("x")\n'.encode(), "a.csv", "公式"),
        (f"客户名称,地址\n甲,{'很' * 3000}\n".encode(), "a.csv", "内容过长"),
        ("公司,电话\n甲,1\n".encode(), "a.csv", "客户名称"),
    ],
)
async def test_bad_files_get_a_clear_message(manager, content, name, needle):
    with pytest.raises(InvalidInput) as exc:
        await importer.commit(manager, content, name, ImportOptions())
    assert needle in exc.value.message + " ".join(e["message"] for e in exc.value.errors)
    assert await Customer.count() == 0


async def test_upsert_matches_on_phone_and_undo_restores(manager):
    cid = (await records.create_customer(manager, CustomerIn(name="老名字", phones=["13800138000"], level="B")))["id"]
    data = csv_bytes(
        [["客户名称", "电话", "客户级别"], ["新名字", "138-0013-8000", "A"], ["全新客户", "13900139000", ""]]
    )
    dry = await importer.dry_run(manager, data, "u.csv", ImportOptions(mode="upsert", match_on=["phone"]))
    assert (dry.create, dry.update) == (1, 1)
    report = await importer.commit(manager, data, "u.csv", ImportOptions(mode="upsert", match_on=["phone"]))
    row = await Customer.select().where(Customer.id == cid).first()
    assert (row["name"], row["level"]) == ("新名字", "A")
    assert await Customer.count() == 2
    undone = await importer.undo(manager, report.batch_id)
    assert undone == {"deleted": 1, "restored": 1}
    row = await Customer.select().where(Customer.id == cid).first()
    assert (row["name"], row["level"]) == ("老名字", "B")
    assert await Customer.count() == 1
    with pytest.raises(InvalidInput, match="已撤销"):
        await importer.undo(manager, report.batch_id)


async def test_create_mode_skips_existing_and_update_mode_skips_new(manager):
    await records.create_customer(manager, CustomerIn(name="已存在公司"))
    data = csv_bytes([["客户名称"], ["已存在公司"], ["新公司"]])
    report = await importer.dry_run(manager, data, "c.csv", ImportOptions(mode="create"))
    assert (report.create, report.skip) == (1, 1)
    report = await importer.dry_run(manager, data, "c.csv", ImportOptions(mode="update", match_on=["name"]))
    assert (report.update, report.skip) == (1, 1)


async def test_header_mapping_can_be_adjusted(manager):
    data = csv_bytes([["公司全称", "备注电话"], ["甲公司", "13800138000"]])
    report = await importer.commit(
        manager, data, "m.csv", ImportOptions(mapping={"公司全称": "name", "备注电话": "phone"})
    )
    assert report.create == 1


async def test_export_is_exactly_the_filter_within_scope(manager, make_user, actor_for):
    other = await actor_for(await make_user("other", "sales"))
    await records.create_customer(manager, CustomerIn(name="=危险公式", type="意向", phones=["13800138000"]))
    await records.create_customer(manager, CustomerIn(name="潜在客户", type="潜在"))
    await records.create_customer(other, CustomerIn(name="别人的客户", type="意向"))
    path, count = await exporter.export(manager, ListQuery(view="all", type="意向"), "xlsx")
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    path.unlink()
    assert count == 1 and len(rows) == 2
    assert rows[1][1] == "'=危险公式" and "+8613800138000" in rows[1][14]
    path, count = await exporter.export(manager, ListQuery(view="all"), "csv")
    text = path.read_text(encoding="utf-8-sig")
    path.unlink()
    assert count == 2 and "别人的客户" not in text
    assert await AuditEvent.count().where(AuditEvent.action == "export") == 2
