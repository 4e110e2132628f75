from piccolo.columns import Text, Timestamptz, Varchar
from piccolo.table import Table


class Setting(Table, tablename="settings"):
    """One typed settings section, stored as JSON and validated against its msgspec Struct."""

    key = Varchar(length=64, unique=True)
    value = Text(default="{}")
    updated_at = Timestamptz()


class JobRun(Table, tablename="job_runs"):
    """One row per job: when it last ran and who holds it now (a lease), so many servers run it once."""

    name = Varchar(length=100, unique=True)
    last_run_at = Timestamptz(null=True, default=None)
    last_run_key = Varchar(length=32, default="")  # e.g. the local date of a daily job
    locked_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")
