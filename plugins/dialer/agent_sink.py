"""The agent's Sink: engine snapshots and results on the PC's disk, every result queued in the outbox.

Nothing here needs the server to be reachable: the campaign keeps dialing while the link is down and
the outbox uploads what happened once it is back (exactly once: see `agent_protocol`).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import anyio
import msgspec

from plugins.dialer import store
from plugins.dialer.agent_protocol import Outbox, ResultMsg
from plugins.dialer.engine import EngineState, dump, load

_results = msgspec.json.Decoder(dict[str, store.CallResult])


class AgentSink:
    def __init__(self, state_dir: Path, outbox: Outbox, on_change: Any = None) -> None:
        self.dir = state_dir
        self.outbox = outbox
        self.setups: dict[int, store.Setup] = {}
        self.on_change = on_change  # called after each queued message (wakes the uploader)
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / "results.json"
        self.results: dict[str, store.CallResult] = _results.decode(path.read_bytes()) if path.exists() else {}

    def _queue(self, kind: str, campaign: int | None, detail: dict[str, Any], *, key: str, number: str = "",
               answered: bool = False, cause: str = "", at: float = 0.0, talk_s: float = 0.0) -> None:
        self.outbox.add(ResultMsg(key=f"{kind}:{key}", campaign=campaign, number=number, answered=answered,
                                  cause=cause, at=at, talk_s=talk_s, detail={"kind": kind, **detail}))
        if self.on_change is not None:
            self.on_change()

    # ------------------------------------------------------------ Sink

    async def setup(self, campaign_id: int, now: float) -> store.Setup:
        if campaign_id not in self.setups:
            path = self.dir / f"setup-{campaign_id}.json"
            self.setups[campaign_id] = msgspec.json.decode(await anyio.Path(path).read_bytes(), type=store.Setup)
        return self.setups[campaign_id]

    async def remember_setup(self, setup: store.Setup, prompt: bytes | None) -> None:
        if prompt is not None:
            (self.dir / "prompts").mkdir(exist_ok=True)
            name = f"campaign-{setup.campaign_id}.wav"
            await anyio.Path(self.dir / "prompts" / name).write_bytes(prompt)
            setup.prompt_file = name
        await anyio.Path(self.dir / f"setup-{setup.campaign_id}.json").write_bytes(msgspec.json.encode(setup))
        self.setups[setup.campaign_id] = setup

    def prompt_path(self, setup: store.Setup) -> Path | None:
        return self.dir / "prompts" / setup.prompt_file if setup.prompt_file else None

    async def load_state(self, campaign_id: int) -> EngineState | None:
        path = anyio.Path(self.dir / f"state-{campaign_id}.json")
        return load(await path.read_bytes()) if await path.exists() else None

    async def save_state(self, campaign_id: int, state: EngineState) -> None:
        tmp = anyio.Path(self.dir / f"state-{campaign_id}.tmp")
        await tmp.write_bytes(dump(state))
        await tmp.replace(self.dir / f"state-{campaign_id}.json")

    async def set_status(self, campaign_id: int, status: str, reason: str = "") -> None:
        self._queue("status", campaign_id, {"status": status, "reason": reason},
                    key=f"{campaign_id}:{self.outbox.seq + 1}")

    async def call_started(self, info: store.DialInfo) -> None:
        self._queue("started", info.campaign_id, {"info": msgspec.to_builtins(info)}, key=info.key,
                    number=info.e164, at=info.dial_at)

    async def call_finished(self, res: store.CallResult, recording: Path | None = None,
                            followup_min_s: float | None = None) -> bool:
        if res.key in self.results:
            return False
        self.results[res.key] = res
        await anyio.Path(self.dir / "results.json").write_bytes(msgspec.json.encode(self.results))
        audio = ""
        if recording is not None and await anyio.Path(recording).exists():
            audio = base64.b64encode(await anyio.Path(recording).read_bytes()).decode()
        campaign = int(res.key[1:].split(":", 1)[0]) if res.key.startswith("c") else None
        self._queue("finished", campaign, {"result": msgspec.to_builtins(res), "recording": audio,
                                           "followup_min_s": followup_min_s}, key=res.key, answered=res.answered,
                    cause=res.cause, at=res.end_at, talk_s=res.talk_s)
        return True

    async def mark_interrupted(self, key: str, at: float) -> store.CallResult | None:
        if key in self.results:
            return self.results[key]
        res = store.CallResult(key=key, answered=False, cause="interrupted", end_at=at)
        await self.call_finished(res)
        return res

    async def update_number(self, number_id: int, status: str, result: str, attempts: int) -> None:
        self._queue("number", None, {"id": number_id, "status": status, "result": result, "attempts": attempts},
                    key=f"{number_id}:{status}")

    async def block_sim(self, device_id: int | None, device: str, slot: int, reason: str) -> None:
        self._queue("block", None, {"device": device, "slot": slot, "reason": reason}, key=f"{device}:{slot}")
