"""The customers plugin as the host sees it: manifest, permissions, menu, job, settings, Piccolo app."""

from core.customers import plugin
from core.customers.config import CustomerSettings
from core.hooktypes import Job, PluginManifest


def test_manifest_and_hooks():
    assert isinstance(plugin.MANIFEST, PluginManifest) and plugin.MANIFEST.module is None
    keys = {p.key for p in plugin.permissions()}
    assert {
        "customers:read",
        "customers:create",
        "customers:edit",
        "customers:delete",
        "customers:assign",
        "customers:export",
        "customers:import",
        "customers:pool",
        "customers:settings",
    } <= keys
    assert plugin.piccolo_apps() == ["core.customers.piccolo_app"]
    (job,) = plugin.jobs()
    assert isinstance(job, Job) and job.daily_at == "01:30"
    (section,) = plugin.settings_sections()
    assert section.schema is CustomerSettings
    assert CustomerSettings().types == ["潜在", "意向", "现有", "代理合作", "供应商", "无效"]
    assert all(item.permission for item in plugin.menu_items(None))
    assert all(path.is_dir() for path in plugin.template_dirs())
    assert len(plugin.route_handlers()) > 10


def test_registered_with_the_host():
    from core import host

    assert host.current().pm.get_plugin("core-customers") is not None
