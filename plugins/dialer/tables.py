"""The dialer's tables.

Every foreign key states its `on_delete`: RESTRICT or SET NULL, never CASCADE — a call record
outlives its campaign, its box and its customer.
"""

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from core.auth.tables import User
from core.customers.tables import Contact, Customer, Followup
from core.org.tables import Department


class Device(Table, tablename="dialer_devices"):
    """A phone box (EV-FWT 785) reachable at `url` (serial port, `sim://NAME`, `rfc2217://…`)."""

    name = Varchar(length=100, unique=True)
    url = Varchar(length=255)
    dialect = Varchar(length=16, default="auto")
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null)
    enabled = Boolean(default=True)
    created_at = Timestamptz()


class DeviceSlot(Table, tablename="dialer_slots"):
    """One SIM slot of a box: its caller number, carrier preset and per-SIM limits (JSON, `SimLimits`)."""

    device = ForeignKey(Device, on_delete=OnDelete.restrict, index=True)
    slot = Integer()
    enabled = Boolean(default=True)
    carrier = Varchar(length=16, default="")
    caller_number = Varchar(length=32, default="")
    iccid = Varchar(length=32, default="")
    limits = JSON(default="{}")
    locked_until = Timestamptz(null=True, default=None)
    lock_reason = Varchar(length=200, default="")
    blocked = Boolean(default=False)  # looks blocked by the carrier: out of rotation until reset


class Recording(Table, tablename="dialer_recordings"):
    """外呼语音: a prompt the box plays (stored as mono 16-bit 8 kHz WAV)."""

    name = Varchar(length=100)
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null)
    shared = Boolean(default=False)
    stored_name = Varchar(length=64)
    original_name = Varchar(length=255, default="")
    duration_s = Float(default=0.0)
    handover_s = Float(default=0.0)  # 0 = hand over only when the salesperson takes over
    size = Integer(default=0)
    created_at = Timestamptz()


class Campaign(Table, tablename="dialer_campaigns"):
    """外呼任务."""

    name = Varchar(length=200)
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null, index=True)
    recording = ForeignKey(Recording, null=True, on_delete=OnDelete.set_null)
    mode = Varchar(length=16, default="prompt")  # prompt | auto_handover | manual
    status = Varchar(length=16, default="draft", index=True)  # draft|running|paused|waiting|stopped|done
    status_reason = Varchar(length=300, default="")
    config = JSON(default="{}")  # engine.config.CampaignConfig
    devices = JSON(default="[]")  # [{"device": id, "slots": [1, 2]}]
    source = Varchar(length=16, default="customers")  # customers | filter | file
    total = Integer(default=0)
    removed_invalid = Integer(default=0)
    removed_duplicate = Integer(default=0)
    removed_dnc = Integer(default=0)
    removed_scope = Integer(default=0)
    dialed = Integer(default=0)
    answered = Integer(default=0)
    effective = Integer(default=0)
    created_at = Timestamptz(index=True)
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)


class CampaignNumber(Table, tablename="dialer_campaign_numbers"):
    campaign = ForeignKey(Campaign, on_delete=OnDelete.restrict, index=True)
    e164 = Varchar(length=20, index=True)
    customer = ForeignKey(Customer, null=True, on_delete=OnDelete.set_null)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)
    position = Integer(default=0)
    state = Varchar(length=16, default="pending", index=True)  # pending | dialing | done | dnc | exhausted
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    result = Varchar(length=32, default="")


class Call(Table, tablename="dialer_calls"):
    """拨打记录: every dial attempt, campaign or direct. `attempt_key` makes ingest idempotent."""

    attempt_key = Varchar(length=80, unique=True)
    kind = Varchar(length=16, default="campaign")  # campaign | direct
    call_type = Varchar(length=32, default="业务联系")
    campaign = ForeignKey(Campaign, null=True, on_delete=OnDelete.set_null, index=True)
    campaign_number = ForeignKey(CampaignNumber, null=True, on_delete=OnDelete.set_null)
    user = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null, index=True)
    customer = ForeignKey(Customer, null=True, on_delete=OnDelete.set_null, index=True)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)
    number = Varchar(length=32, index=True)
    caller_number = Varchar(length=32, default="")
    device = ForeignKey(Device, null=True, on_delete=OnDelete.set_null)
    device_name = Varchar(length=100, default="")
    slot = Integer(default=0)
    iccid = Varchar(length=32, default="")
    answered = Boolean(default=False)
    cause = Varchar(length=32, default="")
    q850 = Integer(null=True, default=None)
    hangup_by = Varchar(length=16, default="")
    dial_at = Timestamptz(index=True)
    alert_at = Timestamptz(null=True, default=None)
    answer_at = Timestamptz(null=True, default=None)
    end_at = Timestamptz(null=True, default=None)
    ring_s = Float(default=0.0)
    talk_s = Float(default=0.0)
    total_s = Float(default=0.0)
    listened_s = Float(default=0.0)
    taken_over = Boolean(default=False)
    taken_over_at = Timestamptz(null=True, default=None)
    abandoned = Boolean(default=False)
    effective = Boolean(default=False)
    disposition = Varchar(length=32, default="")
    note = Text(default="")
    next_contact = Date(null=True, default=None)
    recording_file = Varchar(length=64, default="")
    recording_size = Integer(default=0)
    recording_store = Varchar(length=16, default="local")  # local | s3 | s3_pending: where recording_file lives
    recording_location = Varchar(length=500, default="")  # s3: the endpoint, bucket and prefix (JSON)
    recording_purged_at = Timestamptz(null=True, default=None)  # removed by the retention setting
    followup = ForeignKey(Followup, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()


class SimUsage(Table, tablename="dialer_sim_usage"):
    """Per-SIM counters per day (Asia/Shanghai), kept by the runner from call results."""

    device = ForeignKey(Device, null=True, on_delete=OnDelete.set_null, index=True)
    slot = Integer()
    day = Date(index=True)
    calls = Integer(default=0)
    connected = Integer(default=0)
    talk_s = Float(default=0.0)
    failures = Integer(default=0)


class Dnc(Table, tablename="dialer_dnc"):
    """谢绝来电 / opt-outs / "不要再打": never dialed again."""

    e164 = Varchar(length=20, unique=True)
    source = Varchar(length=32, default="manual")  # manual | import | disposition | opt_out | platform
    reason = Text(default="")
    added_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()


class Consent(Table, tablename="dialer_consents"):
    """Consent records (MIIT draft: no explicit consent counts as refusal)."""

    e164 = Varchar(length=20, index=True)
    customer = ForeignKey(Customer, null=True, on_delete=OnDelete.set_null)
    source = Varchar(length=64, default="")
    evidence = Text(default="")
    given_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    recorded_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)


class EngineSnapshot(Table, tablename="dialer_engine_state"):
    """The engine state of one campaign, written after every decision and result (resume after a kill)."""

    campaign = ForeignKey(Campaign, on_delete=OnDelete.restrict, unique=True)
    state = Text(default="")
    version = Integer(default=0)
    updated_at = Timestamptz()


class AgentLink(Table, tablename="dialer_agent_links"):
    """An agent (电话助手) of one user: the highest upload sequence applied, kept across server restarts."""

    key = Varchar(length=140, unique=True)  # "{user id}:{agent name}": agent names are only unique per user
    user = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    agent = Varchar(length=100)
    devices = JSON(default="[]")
    high_water = Integer(default=0)
    last_seen = Timestamptz(null=True, default=None)


ALL_TABLES = (Device, DeviceSlot, Recording, Campaign, CampaignNumber, Call, SimUsage, Dnc, Consent,
              EngineSnapshot, AgentLink)
