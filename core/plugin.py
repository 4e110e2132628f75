"""Core's own features, registered through the same hooks as any plugin."""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.hooktypes import Job, MenuItem, Permission, PluginManifest, SettingsSection
from core.settings.core_settings import CoreSettings

MANIFEST = PluginManifest(name="core", title="核心平台", version="0.1.0", description="用户、组织、角色、审计、许可证")


@hookimpl
def permissions() -> list[Permission]:
    return [
        Permission(key="users:read", label="查看人员", label_en="View users", scoped=False),
        Permission(key="users:edit", label="管理人员", label_en="Manage users", scoped=False),
        Permission(key="org:edit", label="管理部门与职位", label_en="Manage departments", scoped=False),
        Permission(key="roles:edit", label="管理角色权限", label_en="Manage roles", scoped=False),
        Permission(key="audit:read", label="查看操作日志", label_en="Read the audit log", scoped=False),
        Permission(key="audit:purge", label="清理日志", label_en="Purge old logs", scoped=False),
        Permission(key="loginlog:read", label="查看登录日志", label_en="Read the login log", scoped=False),
        Permission(key="settings:edit", label="系统设置", label_en="Edit settings", scoped=False),
        Permission(key="licence:manage", label="许可证管理", label_en="Manage the licence", scoped=False),
        Permission(key="backup:run", label="数据备份", label_en="Back up data", scoped=False),
        Permission(key="plugins:read", label="查看模块", label_en="View modules", scoped=False),
    ]


@hookimpl
def menu_items(actor) -> list[MenuItem]:
    return [
        MenuItem(key="home", label="首页", href="/", order=0),
        MenuItem(key="admin.users", label="人员", href="/admin/users", permission="users:read", section="admin",
                 order=10),
        MenuItem(key="admin.departments", label="部门", href="/admin/departments", permission="org:edit",
                 section="admin", order=20),
        MenuItem(key="admin.roles", label="角色权限", href="/admin/roles", permission="roles:edit", section="admin",
                 order=30),
        MenuItem(key="admin.ip", label="IP 访问设置", href="/admin/ip-rules", permission="settings:edit",
                 section="admin", order=40),
        MenuItem(key="admin.settings", label="系统设置", href="/admin/settings", permission="settings:edit",
                 section="admin", order=50),
        MenuItem(key="admin.licence", label="许可证", href="/admin/licence", permission="licence:manage",
                 section="admin", order=60),
        MenuItem(key="admin.plugins", label="模块", href="/admin/plugins", permission="plugins:read",
                 section="admin", order=70),
        MenuItem(key="admin.loginlog", label="登录日志", href="/admin/login-log", permission="loginlog:read",
                 section="admin", order=80),
        MenuItem(key="admin.audit", label="操作日志", href="/admin/audit", permission="audit:read", section="admin",
                 order=90),
        MenuItem(key="admin.backup", label="数据备份", href="/admin/backup", permission="backup:run",
                 section="admin", order=100),
    ]


@hookimpl
def settings_sections() -> list[SettingsSection]:
    return [SettingsSection(key="core", label="系统设置", schema=CoreSettings)]


@hookimpl
def route_handlers() -> list:
    from core.audit.routes import ROUTES as audit_routes
    from core.auth.routes import ROUTES as auth_routes
    from core.org.routes import ROUTES as org_routes
    from core.perms.routes import ROUTES as role_routes
    from core.settings.routes import ROUTES as settings_routes
    from core.web.routes import ROUTES as web_routes

    return [*auth_routes, *web_routes, *org_routes, *role_routes, *audit_routes, *settings_routes]


@hookimpl
def cli_commands() -> list:
    from core.licence_cli import licence

    return [licence]


@hookimpl
def jobs() -> list[Job]:
    from core.maintenance import purge_old_logs

    return [Job(name="core.purge_old_logs", run=purge_old_logs, daily_at="03:15")]
