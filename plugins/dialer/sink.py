"""Where a runner keeps its state and results: the server's database (`DbSink`), or an agent's disk and
outbox (`plugins.dialer.agent.AgentSink`). The runner is the same either way."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from plugins.dialer import files, store
from plugins.dialer.engine import EngineState
from plugins.dialer.followups import followup_for_call
from plugins.dialer.tables import Call


class Sink(Protocol):
    async def setup(self, campaign_id: int, now: float) -> store.Setup: ...

    def prompt_path(self, setup: store.Setup) -> Path | None: ...

    async def load_state(self, campaign_id: int) -> EngineState | None: ...

    async def save_state(self, campaign_id: int, state: EngineState) -> None: ...

    async def set_status(self, campaign_id: int, status: str, reason: str = "") -> None: ...

    async def call_started(self, info: store.DialInfo) -> None: ...

    async def call_finished(self, res: store.CallResult, recording: Path | None = None,
                            followup_min_s: float | None = None) -> bool: ...

    async def mark_interrupted(self, key: str, at: float) -> store.CallResult | None: ...

    async def update_number(self, number_id: int, status: str, result: str, attempts: int) -> None: ...

    async def block_sim(self, device_id: int | None, device: str, slot: int, reason: str) -> None: ...


class DbSink:
    """The server: straight into the database."""

    async def setup(self, campaign_id: int, now: float) -> store.Setup:
        return await store.campaign_setup(campaign_id, now)

    def prompt_path(self, setup: store.Setup) -> Path | None:
        return files.prompts_dir() / setup.prompt_file if setup.prompt_file else None

    async def load_state(self, campaign_id: int) -> EngineState | None:
        return await store.load_state(campaign_id)

    async def save_state(self, campaign_id: int, state: EngineState) -> None:
        await store.save_state(campaign_id, state)

    async def set_status(self, campaign_id: int, status: str, reason: str = "") -> None:
        await store.set_campaign_status(campaign_id, status, reason)

    async def call_started(self, info: store.DialInfo) -> None:
        await store.call_started(info)

    async def call_finished(self, res: store.CallResult, recording: Path | None = None,
                            followup_min_s: float | None = None) -> bool:
        stored = await store.call_finished(res)
        if stored and followup_min_s is not None and res.answered and res.talk_s > followup_min_s:
            row = await Call.select(Call.id).where(Call.attempt_key == res.key).first()
            if row:
                await followup_for_call(row["id"], min_talk_s=followup_min_s, recording=recording)
        return stored

    async def mark_interrupted(self, key: str, at: float) -> store.CallResult | None:
        return await store.mark_interrupted(key, at)

    async def update_number(self, number_id: int, status: str, result: str, attempts: int) -> None:
        await store.update_number(number_id, status, result, attempts, 0.0)

    async def block_sim(self, device_id: int | None, device: str, slot: int, reason: str) -> None:
        if device_id is not None:
            await store.block_sim(device_id, slot, reason)
