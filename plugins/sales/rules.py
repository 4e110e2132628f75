"""How stage, state, outcome and probability fit together (pure functions, no I/O).

- Moving to a won stage (赢单) completes the opportunity (已完成); a lost stage (输单) abandons it (已放弃).
- Setting the state to 已完成 alone moves the stage to the won stage.
- The outcome is won for a won stage, lost for a lost stage or 已放弃, open otherwise.
- The probability follows the stage's default unless given explicitly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from core.customers.errors import field_error
from plugins.sales.settings import ABANDONED_STATE, DONE_STATE, STATES, SalesSettings


class Resolved(msgspec.Struct, kw_only=True):
    stage: str
    state: str
    outcome: str


def resolve(settings: SalesSettings, stage: str, state: str, changed: set[str],
            errors: list[dict[str, Any]], row: int | None = None, *, outcome: str = "open") -> Resolved:
    """`outcome` is the current one: kept for a stage since removed from the settings, when it is not changed."""
    st = settings.stage(stage)
    if st is None and not changed:
        return Resolved(stage=stage, state=state, outcome=outcome)
    if st is None:
        names = "、".join(settings.stage_names())
        errors.append(field_error("阶段", f"未知的阶段“{stage}”，可选：{names}",
                                  f"unknown stage {stage!r}; choose one of {settings.stage_names()}", row))
        return Resolved(stage=stage, state=state, outcome="open")
    if state not in STATES:
        errors.append(field_error("状态", f"未知的状态“{state}”，可选：{'、'.join(STATES)}",
                                  f"unknown state {state!r}; choose one of {STATES}", row))
        return Resolved(stage=stage, state=state, outcome="open")
    if "stage" in changed and st.outcome == "won":
        state = DONE_STATE
    elif "stage" in changed and st.outcome == "lost":
        state = ABANDONED_STATE
    elif "state" in changed and "stage" not in changed and state == DONE_STATE and st.outcome != "won":
        won = settings.won_stage()
        if won is not None:
            st, stage = won, won.name
    if st.outcome == "won" and state != DONE_STATE:
        errors.append(field_error("状态", f"阶段“{stage}”的机会状态只能是“已完成”",
                                  f"an opportunity in stage {stage!r} must be completed (已完成)", row))
    if st.outcome == "lost" and state != ABANDONED_STATE:
        errors.append(field_error("状态", f"阶段“{stage}”的机会状态只能是“已放弃”",
                                  f"an opportunity in stage {stage!r} must be abandoned (已放弃)", row))
    outcome = "won" if st.outcome == "won" else "lost" if (st.outcome == "lost" or state == ABANDONED_STATE) \
        else "open"
    return Resolved(stage=stage, state=state, outcome=outcome)


def check_dates(start: dt.date, close: dt.date | None, errors: list[dict[str, Any]], row: int | None = None) -> None:
    if close is not None and close < start:
        errors.append(field_error("预计成交日期", f"预计成交日期 {close} 早于开始日期 {start}",
                                  f"expected close {close} is before the start date {start}", row))


def check_choice(column: str, value: str, options: list[str], errors: list[dict[str, Any]],
                 row: int | None = None) -> None:
    if value and options and value not in options:
        errors.append(field_error(column, f"“{value}”不在可选项中（{'、'.join(options)}）",
                                  f"{value!r} is not one of {options}", row))


def check_needs(values: list[str], options: list[str], errors: list[dict[str, Any]], row: int | None = None) -> None:
    for value in values:
        check_choice("需求", value, options, errors, row)


def check_custom(custom: dict[str, Any], errors: list[dict[str, Any]], row: int | None = None) -> str:
    """The custom fields as JSON (flat values only, at most 8 KB)."""
    bad = [k for k, v in custom.items() if not isinstance(v, str | int | float | bool | type(None)) or len(k) > 64]
    if bad:
        errors.append(field_error("自定义字段", f"字段 {bad[0]} 的值必须是文本、数字或布尔值",
                                  f"custom field {bad[0]!r} must be a text, number or boolean", row))
        return "{}"
    encoded = msgspec.json.encode(custom).decode()
    if len(encoded) > 8192:
        errors.append(field_error("自定义字段", "自定义字段内容过长（最多 8 KB）", "custom fields exceed 8 KB", row))
        return "{}"
    return encoded


def closing(outcome: str, before_outcome: str | None, closed_on: dt.date | None, start: dt.date,
            today: dt.date) -> tuple[dt.date | None, int | None]:
    """(closed_on, cycle_days): set when the outcome is decided, cleared when the opportunity reopens."""
    if outcome == "open":
        return None, None
    day = closed_on if (before_outcome == outcome and closed_on is not None) else today
    return day, max((day - start).days, 0)
