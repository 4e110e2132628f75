"""销售设置: the typed settings section (stages with default probabilities, states, sources, needs…)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from core.hooktypes import SettingsSection
from core.settings.store import load

STATES = ["跟进中", "已完成", "已放弃", "搁置挂起"]
OPEN_STATE, DONE_STATE, ABANDONED_STATE = "跟进中", "已完成", "已放弃"


class Stage(msgspec.Struct, kw_only=True, frozen=True):
    """One sales stage; `outcome` marks the closing stages (won 赢单 / lost 输单)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    probability: Annotated[int, msgspec.Meta(ge=0, le=100)]
    outcome: Literal["open", "won", "lost"] = "open"


DEFAULT_STAGES = [
    Stage(name="线索收集", probability=10),
    Stage(name="需求确认", probability=30),
    Stage(name="方案报价", probability=50),
    Stage(name="商务谈判", probability=70),
    Stage(name="赢单", probability=100, outcome="won"),
    Stage(name="输单", probability=0, outcome="lost"),
]


class SalesSettings(msgspec.Struct, kw_only=True):
    stages: Annotated[list[Stage], msgspec.Meta(
        title="销售阶段",
        description="按顺序排列；name = 名称，probability = 默认赢单概率（0–100），"
                    "outcome = open 进行中 / won 赢单 / lost 输单。名称不能重复，至少一个进行中的阶段",
    )] = msgspec.field(default_factory=lambda: list(DEFAULT_STAGES))
    sources: Annotated[list[str], msgspec.Meta(title="机会来源", description="每行一个")] = msgspec.field(
        default_factory=lambda: ["电话营销", "网络", "展会", "转介绍", "老客户", "其他"])
    importance: Annotated[list[str], msgspec.Meta(title="重要程度", description="每行一个")] = msgspec.field(
        default_factory=lambda: ["高", "中", "低"])
    types: Annotated[list[str], msgspec.Meta(title="机会类型", description="每行一个")] = msgspec.field(
        default_factory=lambda: ["新客户", "老客户增购", "续约"])
    needs: Annotated[list[str], msgspec.Meta(
        title="客户需求", description="每行一个；销售机会可勾选的需求")] = msgspec.field(
        default_factory=lambda: ["外呼设备", "CRM 软件", "短信服务", "实施培训", "售后维保"])
    need_types: Annotated[list[str], msgspec.Meta(title="需求类型", description="每行一个")] = msgspec.field(
        default_factory=lambda: ["产品", "服务", "价格", "其他"])
    need_states: Annotated[list[str], msgspec.Meta(
        title="需求状态", description="每行一个；新需求默认为第一个")] = msgspec.field(
        default_factory=lambda: ["待跟进", "跟进中", "已满足", "已放弃"])
    close_warn_days: Annotated[int, msgspec.Meta(
        ge=0, le=365, title="预计成交提醒天数",
        description="单位：天（0–365）；预计成交日期在此天数内的销售机会出现在提醒中")] = 7

    def __post_init__(self) -> None:
        names = [s.name for s in self.stages]
        if not names or len(set(names)) != len(names):
            raise ValueError("阶段不能为空且不能重名 / stages must be non-empty and unique")
        if not any(s.outcome == "open" for s in self.stages):
            raise ValueError("至少需要一个进行中的阶段 / at least one open stage is needed")

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    def first_open(self) -> Stage:
        return next((s for s in self.stages if s.outcome == "open"), self.stages[0])

    def won_stage(self) -> Stage | None:
        return next((s for s in self.stages if s.outcome == "won"), None)

    def lost_stage(self) -> Stage | None:
        return next((s for s in self.stages if s.outcome == "lost"), None)


SECTION = SettingsSection(key="sales", label="销售设置", schema=SalesSettings, permission="sales:settings")


async def current() -> SalesSettings:
    settings: SalesSettings = await load(SECTION)
    return settings
