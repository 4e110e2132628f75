"""The SMS app's tables. Every foreign key states its `on_delete`; customers' rows are never cascaded."""

from piccolo.columns import Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from core.auth.tables import User
from core.customers.tables import Contact, Customer
from core.org.tables import Department


class SmsTemplate(Table, tablename="sms_templates"):
    """常用短信: a body with fields such as {客户名称} {联系人}; shared ones are visible to everyone."""

    name = Varchar(length=100)
    body = Text(default="")
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null)
    shared = Boolean(default=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SmsBatch(Table, tablename="sms_batches"):
    """One send: who, what, when, through which channel, and the counts fixed when it was queued."""

    user = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null, index=True)
    text = Text(default="")
    template = ForeignKey(SmsTemplate, null=True, on_delete=OnDelete.set_null)
    channel = Varchar(length=16, default="")
    purpose = Varchar(length=100, default="")
    scheduled_at = Timestamptz(null=True, default=None)
    recipients = Integer(default=0)
    skipped = Integer(default=0)
    parts = Integer(default=0)
    cost_fen = Integer(default=0)
    cancelled_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(index=True)


class SmsMessage(Table, tablename="sms_messages"):
    """One recipient of a batch: queued → sending → sent → delivered, or failed with a reason."""

    batch = ForeignKey(SmsBatch, null=True, on_delete=OnDelete.restrict, index=True)
    user = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null, index=True)
    customer = ForeignKey(Customer, null=True, on_delete=OnDelete.set_null, index=True)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)
    number = Varchar(length=20, index=True)
    name = Varchar(length=100, default="")
    text = Text(default="")
    parts = Integer(default=1)
    channel = Varchar(length=16, default="")
    state = Varchar(length=16, default="queued", index=True)  # queued|sending|sent|delivered|failed|cancelled
    reason = Text(default="")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    claimed_until = Timestamptz(null=True, default=None)
    sim = Varchar(length=64, default="")
    provider_id = Varchar(length=64, default="", index=True)
    idem_key = Varchar(length=160, unique=True)
    created_at = Timestamptz(index=True)
    sent_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()


class SmsInbox(Table, tablename="sms_inbox"):
    """收信记录: a text received by the box, linked to the customer whose number matches."""

    number = Varchar(length=20, index=True)
    text = Text(default="")
    received_at = Timestamptz(index=True)
    source = Varchar(length=64, default="")
    customer = ForeignKey(Customer, null=True, on_delete=OnDelete.set_null, index=True)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null)
    opt_out = Boolean(default=False)
    followup_id = Integer(null=True, default=None)
    created_at = Timestamptz()


class SmsOptOut(Table, tablename="sms_optouts"):
    """退订名单: numbers never texted again (checked before every send)."""

    number = Varchar(length=20, unique=True)
    source = Varchar(length=16, default="manual")  # reply | manual | import | hook
    note = Text(default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()


class SmsCounter(Table, tablename="sms_counters"):
    """Per-user and per-SIM daily counts: `slot_key` is "user:<id>:<day>" or "sim:<box#slot>:<day>"."""

    slot_key = Varchar(length=128, unique=True)
    kind = Varchar(length=8)  # user | sim
    key = Varchar(length=100, index=True)
    day = Date(index=True)
    total = Integer(default=0)


ALL_TABLES: list[type[Table]] = [SmsTemplate, SmsBatch, SmsMessage, SmsInbox, SmsOptOut, SmsCounter]
