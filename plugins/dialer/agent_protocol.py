"""What the agent (电话助手) sends the server, and how both sides make delivery exactly-once.

The agent appends every result to a local outbox (a JSON-lines file: it survives a crash or a dropped
link) under a per-agent sequence number, and drops entries only when the server acknowledges them.
The server applies each result once, keyed by its attempt key, and acknowledges the highest sequence
number it holds — so a batch sent twice is stored once, and nothing unacknowledged is forgotten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec


class ResultMsg(msgspec.Struct, kw_only=True, frozen=True):
    key: str  # globally unique attempt key
    campaign: int | None
    number: str
    answered: bool
    cause: str
    at: float
    talk_s: float = 0.0
    detail: dict[str, Any] = {}  # the full call record (store.DialInfo + store.CallResult fields)


class Item(msgspec.Struct, kw_only=True, frozen=True):
    seq: int
    msg: ResultMsg


class Batch(msgspec.Struct, kw_only=True, frozen=True, tag="batch"):
    agent: str
    items: list[Item]


class Ack(msgspec.Struct, kw_only=True, frozen=True, tag="ack"):
    upto: int


class Command(msgspec.Struct, kw_only=True, frozen=True, tag="command"):
    """Server → agent: start/pause/resume/stop/takeover/dnc for a campaign; "sms" sends a text (`arg` is an
    encoded `SmsRequest`; the answer comes back through the outbox as detail {"kind": "sms_result", …})."""

    op: str
    campaign: int | None = None
    arg: str = ""


class SmsRequest(msgspec.Struct, kw_only=True, frozen=True):
    """`Command(op="sms")`'s argument. The agent sends each `request_id` at most once."""

    request_id: str
    to: str
    text: str
    device: str | None = None
    slot: int | None = None


class SmsAnswer(msgspec.Struct, kw_only=True, frozen=True):
    """What one text sent through a box gave (the dialer's `box_sms_send` answer; see plugins.dialer.hookspecs)."""

    ok: bool
    device: str = ""
    slot: int | None = None
    parts: int = 0
    refs: list[int] = []
    error: str = ""
    retryable: bool = False
    code: str = ""  # "" | busy | slot | offline | pending | timeout | invalid | refused | unknown


class SmsIn(msgspec.Struct, kw_only=True, frozen=True):
    """A text a box received (outbox detail {"kind": "sms_in", …}); `at` is the box clock's time of receipt."""

    device: str
    sender: str
    text: str
    at: float
    parts: int = 1


class SimSettings(msgspec.Struct, kw_only=True, frozen=True):
    """One slot's configuration as 外呼设备 sets it on the server."""

    device: str
    slot: int
    carrier: str = ""
    limits: dict[str, Any] = {}
    enabled: bool = True
    blocked: bool = False


class SimsCommand(msgspec.Struct, kw_only=True):
    """The argument of the `sims` command: a box's slot settings, and a SIM unlocked by hand ("box:slot")."""

    slots: list[SimSettings]
    reset: str = ""


Message = Batch | Ack | Command
_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(Message)
_item_dec = msgspec.json.Decoder(Item)


def encode(msg: Message) -> bytes:
    return _enc.encode(msg)


def decode(data: bytes | str) -> Message:
    return _dec.decode(data)


class Outbox:
    def __init__(self, agent: str, path: Path | None = None) -> None:
        self.agent = agent
        self.path = path
        self.items: list[Item] = []
        self.seq = 0
        if path is not None and path.exists():
            for line in path.read_bytes().splitlines():
                if line.strip():
                    item = _item_dec.decode(line)
                    self.items.append(item)
                    self.seq = max(self.seq, item.seq)

    def add(self, msg: ResultMsg) -> int:
        self.seq += 1
        item = Item(seq=self.seq, msg=msg)
        self.items.append(item)
        if self.path is not None:
            with self.path.open("ab") as f:
                f.write(_enc.encode(item) + b"\n")
        return self.seq

    def pending(self, limit: int = 200) -> list[Item]:
        return self.items[:limit]

    def encode(self, items: list[Item]) -> bytes:
        return encode(Batch(agent=self.agent, items=items))

    def ack(self, upto: int) -> None:
        before = len(self.items)
        self.items = [i for i in self.items if i.seq > upto]
        if self.path is not None and len(self.items) != before:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(b"".join(_enc.encode(i) + b"\n" for i in self.items))
            tmp.replace(self.path)


class Ingest:
    """In-memory server side (the bench and tests); the web server's ingest stores into the database."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}  # agent → highest seq applied
        self.keys: set[str] = set()
        self.count = 0

    def receive(self, data: bytes) -> int:
        batch = decode(data)
        assert isinstance(batch, Batch)
        high = self.seen.get(batch.agent, 0)
        for item in batch.items:
            if item.seq <= high or item.msg.key in self.keys:
                continue
            self.keys.add(item.msg.key)
            self.count += 1
            high = max(high, item.seq)
        self.seen[batch.agent] = max(high, max((i.seq for i in batch.items), default=high))
        return self.seen[batch.agent]
