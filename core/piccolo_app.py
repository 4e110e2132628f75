"""Core's Piccolo app: users, organisation, roles, sessions, audit, settings."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.audit.tables import AuditCheckpoint, AuditEvent
from core.auth.tables import ApiToken, IpRule, LoginFailure, LoginLog, Session, User
from core.org.tables import Department, Position
from core.perms.tables import Role, RoleGrant, UserRole
from core.settings.tables import JobRun, Setting

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[
        Department, Position, User, Session, ApiToken, LoginLog, LoginFailure, IpRule,
        Role, RoleGrant, UserRole, AuditEvent, AuditCheckpoint, Setting, JobRun,
    ],
    migration_dependencies=[],
    commands=[],
)
