"""Reading an uploaded .xlsx/.xls/.csv into a header row and data rows, with clear errors for bad files."""

from __future__ import annotations

import csv
import io
from typing import Any

from python_calamine import CalamineWorkbook

from core.customers.errors import InvalidInput

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def _decode_csv(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise InvalidInput(
        "无法识别的文件：请上传 .xlsx 或 UTF-8/GBK 编码的 .csv / unreadable file: upload .xlsx, or .csv in UTF-8 or GBK"
    )


def read_table(data: bytes, filename: str) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) of the first sheet; cells keep their types (numbers stay floats)."""
    if not data:
        raise InvalidInput("文件为空（0 字节） / the file is empty (0 bytes)")
    name = filename.lower()
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            if not book.sheet_names:
                raise InvalidInput("工作簿没有工作表 / the workbook has no sheet")
            rows = book.get_sheet_by_index(0).to_python(skip_empty_area=True)
        except InvalidInput:
            raise
        except Exception as exc:
            raise InvalidInput(f"无法读取 Excel 文件：{exc} / cannot read the spreadsheet: {exc}") from exc
    elif name.endswith((".xlsx", ".xls", ".xlsm")):
        raise InvalidInput(
            "文件扩展名是 Excel，但内容不是 Excel 文件 / the file is named as a spreadsheet but is not one"
        )
    else:
        text = _decode_csv(data)
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = list(csv.reader(io.StringIO(text), dialect))
    rows = [r for r in rows if any(str(c).strip() for c in r)]
    if not rows:
        raise InvalidInput("文件中没有数据 / the file has no rows")
    headers = [str(h).strip() for h in rows[0]]
    if not any(headers):
        raise InvalidInput("第 1 行应为表头 / row 1 must hold the column headers")
    width = len(headers)
    body = [list(r[:width]) + [""] * (width - len(r)) for r in rows[1:]]
    return headers, body
