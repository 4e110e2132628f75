"""Users, sessions, API tokens, login log, login throttling, IP allow-list."""

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.org.tables import Department, Position


class User(Table, tablename="users"):
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=100)
    password_hash = Varchar(length=255)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.restrict)
    position = ForeignKey(Position, null=True, on_delete=OnDelete.set_null)
    active = Boolean(default=True)
    ip_exempt = Boolean(default=False)
    lang = Varchar(length=8, default="zh-CN")
    phone = Varchar(length=32, default="")
    email = Varchar(length=255, default="")
    created_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)


class Session(Table, tablename="sessions"):
    """A browser session. The cookie holds a random id; the table holds only its SHA-256."""

    id_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade)
    csrf_token = Varchar(length=64)
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=255, default="")
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz(default=TimestamptzNow())


class ApiToken(Table, tablename="api_tokens"):
    """A Bearer token for agents, phones and integrations; stored as its SHA-256."""

    user = ForeignKey(User, on_delete=OnDelete.cascade)
    name = Varchar(length=100)
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=12)
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class LoginLog(Table, tablename="login_log"):
    """登录日志: every sign-in attempt, successful or not, with the reason of a failure."""

    at = Timestamptz()
    username = Varchar(length=64)
    user = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=255, default="")
    success = Boolean(default=False)
    reason = Varchar(length=64, default="")


class LoginFailure(Table, tablename="login_failures"):
    """Recent failed attempts per key ("user:NAME" or "ip:ADDR"), for throttling."""

    key = Varchar(length=128, index=True)
    at = Timestamptz()


class IpRule(Table, tablename="ip_rules"):
    """IP 访问设置: when any rule exists, logins are allowed only from these networks (CIDR)."""

    cidr = Varchar(length=64)
    note = Text(default="")
    created_at = Timestamptz()
    sort = Integer(default=0)
