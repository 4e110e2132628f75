"""Roles, their grants (permission + scope) and role membership."""

from piccolo.columns import Boolean, ForeignKey, OnDelete, Text, Varchar
from piccolo.table import Table

from core.auth.tables import User


class Role(Table, tablename="roles"):
    key = Varchar(length=64, unique=True)
    name = Varchar(length=100)
    description = Text(default="")
    builtin = Boolean(default=False)
    customer_types = Text(default="")  # comma-separated allowed customer types; empty = all


class RoleGrant(Table, tablename="role_grants"):
    role = ForeignKey(Role, on_delete=OnDelete.cascade)
    permission = Varchar(length=100)
    scope = Varchar(length=16)  # own | department | subtree | all


class UserRole(Table, tablename="user_roles"):
    user = ForeignKey(User, on_delete=OnDelete.cascade)
    role = ForeignKey(Role, on_delete=OnDelete.cascade)
