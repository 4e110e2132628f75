"""操作日志: the append-only, hash-chained audit log."""

from piccolo.columns import BigInt, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_events"):
    id = Serial(primary_key=True)
    seq = BigInt(unique=True)
    at = Timestamptz()
    actor_id = Integer(null=True, default=None)
    actor_name = Varchar(length=100, default="")
    ip = Varchar(length=64, default="")
    request_id = Varchar(length=64, default="")
    action = Varchar(length=32, index=True)
    entity = Varchar(length=64, index=True, default="")
    entity_id = Varchar(length=64, default="")
    diff = Text(default="")  # JSON {field: [before, after]}
    meta = Text(default="")  # JSON: filters, row count, reason…
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class AuditCheckpoint(Table, tablename="audit_checkpoints"):
    """After a purge the chain restarts from the last purged row's hash, recorded here."""

    id = Serial(primary_key=True)
    at = Timestamptz()
    first_seq = BigInt()
    prev_hash = Varchar(length=64)
