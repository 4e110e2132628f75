"""The dialer plugin's hooks."""

from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl
from core.hooktypes import ActionLink, CustomerTab, EventHandler, MenuItem, Permission, PluginManifest
from plugins.dialer import hookspecs as published_hookspecs

MANIFEST = PluginManifest(name="dialer", title="云外呼", version="0.1.0", module="dialer",
                          description="自动外呼、号码直拨、拨打记录、外呼统计、电话助手")
HOOKSPECS = published_hookspecs  # box_sms_send, box_sims: other modules text through the boxes the dialer holds


@hookimpl
def piccolo_apps() -> list[str]:
    return ["plugins.dialer.piccolo_app"]


@hookimpl
def permissions() -> list[Permission]:
    return [
        Permission(key="dialer:read", label="查看外呼任务和拨打记录", label_en="View campaigns and call records"),
        Permission(key="dialer:run", label="创建和控制外呼任务、直拨", label_en="Create and run campaigns, dial"),
        Permission(key="dialer:recordings", label="外呼语音", label_en="Prompt recordings"),
        Permission(key="dialer:listen", label="收听/下载通话录音", label_en="Play and download call recordings"),
        Permission(key="dialer:stats", label="外呼统计", label_en="Call statistics"),
        Permission(key="dialer:devices", label="查看设备", label_en="View boxes", scoped=False),
        Permission(key="dialer:settings", label="设备与外呼设置", label_en="Box, SIM and dialer settings",
                   scoped=False),
        Permission(key="dialer:dnc", label="谢绝来电名单", label_en="Do-not-call list", scoped=False),
    ]


@hookimpl
def route_handlers() -> list:
    from plugins.dialer.web import ROUTES

    return list(ROUTES)


@hookimpl
def template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def menu_items(actor) -> list[MenuItem]:
    return [
        MenuItem(key="dialer", label="云外呼", href="/dialer", permission="dialer:read", order=30, icon="phone"),
        MenuItem(key="dialer_calls", label="拨打记录", href="/dialer/calls", permission="dialer:read", order=31),
        MenuItem(key="dialer_pad", label="号码直拨", href="/dialer/dial", permission="dialer:run", order=32),
        MenuItem(key="dialer_stats", label="外呼统计", href="/dialer/stats", permission="dialer:stats", order=33),
        MenuItem(key="dialer_devices", label="外呼设备", href="/dialer/devices", permission="dialer:devices",
                 section="admin", order=60),
    ]


@hookimpl
def customer_tabs(actor) -> list[CustomerTab]:
    return [CustomerTab(key="calls", label="通话记录", href="/dialer/customer/{id}/calls", permission="dialer:read",
                        order=40)]


@hookimpl
def settings_sections() -> list:
    from plugins.dialer.settings import SECTION

    return [SECTION]


@hookimpl
def jobs() -> list:
    """Daily: delete call recordings older than the retention setting (外呼设置; 0 keeps them). Every 10 min:
    upload to S3 the recordings held locally while S3 was failing."""
    from core.hooktypes import Job
    from plugins.dialer.recording_store import retention_job, upload_retry_job

    return [Job(name="dialer.recording_retention", run=retention_job, daily_at="02:40"),
            Job(name="dialer.recording_upload_retry", run=upload_retry_job, every=600)]


@hookimpl
def background_tasks() -> list:
    from plugins.dialer.runtime import background_tasks as tasks

    return tasks()


@hookimpl
async def customer_merge(keep_id: int, merge_id: int, actor) -> dict[str, int]:
    """Call records and campaign numbers of the merged customer move to the kept one."""
    from core.customers.duplicates import repoint
    from plugins.dialer.tables import Call, CampaignNumber, Consent

    return await repoint({"calls": Call, "campaign_numbers": CampaignNumber, "consents": Consent}, keep_id, merge_id)


@hookimpl
def phone_actions(actor) -> list[ActionLink]:
    """Click-to-call: every number the CRM shows opens 号码直拨 with it filled in."""
    return [ActionLink(key="dial", label="拨打", href="/dialer/dial?number={number}", permission="dialer:run",
                        order=10)]


@hookimpl
def customer_list_actions(actor) -> list[ActionLink]:
    """发起外呼 for the ticked customers, or every customer the list's current filter matches."""
    return [ActionLink(key="campaign", label="发起外呼", href="/dialer", permission="dialer:run", order=10)]


@hookimpl
async def do_not_contact(numbers: list[str]) -> list[str]:
    from plugins.dialer.dnc import listed

    return await listed(numbers)


@hookimpl
def event_handlers() -> list[EventHandler]:
    from plugins.dialer.dnc import on_added

    return [EventHandler(event="do_not_contact.added", handle=on_added)]


@hookimpl
async def demo_data(users: dict[str, int]) -> None:
    from plugins.dialer.demo import seed

    await seed(users)


@hookimpl
def cli_commands() -> list:
    from drivers.ev_fwt785.cli import device
    from plugins.dialer.agent import agent

    return [device, agent]


@hookimpl
async def box_sms_send(to: str, text: str, device: str | None, slot: int | None, request_id: str) -> dict:
    from plugins.dialer.box_sms import as_dict, send

    return as_dict(await send(to, text, device, slot, request_id))


@hookimpl
def box_devices() -> list[dict]:
    from plugins.dialer.box_sms import devices

    return devices()


@hookimpl
async def box_sims() -> list[dict]:
    from plugins.dialer.box_sms import sims

    return await sims()
