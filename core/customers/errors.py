"""One error type for bad input: a 400 whose message is Chinese + English and names row and column."""

from __future__ import annotations

from typing import Any

from litestar.exceptions import ValidationException


class InvalidInput(ValidationException):
    """Raised before anything is written; `extra` lists {row, column, message} when there are several."""

    status_code = 400

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail=message, extra=errors or [])
        self.message = message
        self.errors = errors or []


def field_error(column: str, zh: str, en: str, row: int | None = None) -> dict[str, Any]:
    where_zh = f"第 {row} 行 “{column}” 列" if row is not None else f"“{column}”"
    where_en = f"row {row}, column {column!r}" if row is not None else f"field {column!r}"
    return {"row": row, "column": column, "message": f"{where_zh}：{zh} / {where_en}: {en}"}
