"""外呼设置: the dialer's settings section (edited on the admin settings page)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from core.hooktypes import ActionLink, SettingsSection


class DialerSettings(msgspec.Struct, kw_only=True):
    # calls longer than this become a follow-up with the recording
    followup_min_s: Annotated[float, msgspec.Meta(
        title="自动记跟进的通话时长",
        description="单位：秒；接通且通话超过此时长的电话自动记为客户跟进（附录音）")] = 10.0
    # an answered number of no customer becomes a 潜在 customer
    create_unknown_customer: Annotated[bool, msgspec.Meta(
        title="接通的陌生号码自动建客户", description="接通的号码不属于任何客户时，自动新建一个“潜在”客户")] = False
    # daily cap of dials per salesperson (campaign default)
    user_max_per_day: Annotated[int, msgspec.Meta(
        title="每人每日拨打上限", description="单位：次；新建外呼任务的默认值，每个销售每天最多拨打的次数")] = 400
    # campaign-wide daily cap per SIM under the SIM's own limit (0 = none)
    sim_max_per_day: Annotated[int, msgspec.Meta(
        title="每卡每日拨打上限",
        description="单位：次；新建外呼任务的默认值，在卡槽自身限额之内再加的上限；0 = 不限")] = 0
    # 0 = keep; else a daily job deletes recordings of calls older than this
    recording_retention_days: Annotated[int, msgspec.Meta(
        title="通话录音保留天数", description="单位：天；每日清理更早通话的录音；0 = 永久保留")] = 0
    # Where new call recordings are written (each call remembers its own backend, so switching never loses
    # older ones). "s3" = any S3-compatible store (AWS, MinIO, Aliyun OSS, Tencent COS); if it fails when a
    # call ends, that recording stays on the local disk until the retry job uploads it.
    recording_store: Annotated[Literal["local", "s3"], msgspec.Meta(
        title="录音存储位置",
        description="local = 服务器本地磁盘；s3 = S3 兼容对象存储（AWS、MinIO、阿里云 OSS、腾讯云 COS），"
                    "上传失败的录音先留在本地，每 10 分钟重试上传。切换只影响新录音")] = "local"
    # e.g. https://oss-cn-hangzhou.aliyuncs.com, http://minio:9000; empty = AWS
    s3_endpoint_url: Annotated[str, msgspec.Meta(
        title="S3 服务地址",
        description="如 https://oss-cn-hangzhou.aliyuncs.com 或 http://minio:9000；留空 = AWS")] = ""
    # e.g. cn-hangzhou, ap-guangzhou, us-east-1
    s3_region: Annotated[str, msgspec.Meta(title="S3 区域", description="如 cn-hangzhou、ap-guangzhou、us-east-1")] = ""
    s3_bucket: Annotated[str, msgspec.Meta(title="S3 存储桶", description="存放录音的存储桶名称")] = ""
    # object key prefix
    s3_prefix: Annotated[str, msgspec.Meta(
        title="S3 对象前缀", description="录音文件在存储桶中的路径前缀")] = "waihubao/calls/"
    # the secret key is never stored here: set WAIHUBAO_S3_SECRET_KEY on the server
    s3_access_key: Annotated[str, msgspec.Meta(
        title="S3 访问密钥 ID",
        description="Access Key ID；密钥（Secret）不保存在这里，请在服务器上设置环境变量 WAIHUBAO_S3_SECRET_KEY")] = ""
    # path-style addressing (MinIO); Aliyun OSS and Tencent COS need it off
    s3_path_style: Annotated[bool, msgspec.Meta(
        title="路径式访问", description="MinIO 需开启；阿里云 OSS、腾讯云 COS 需关闭")] = False


SECTION = SettingsSection(key="dialer", label="外呼设置", schema=DialerSettings, permission="dialer:settings",
                          actions=[ActionLink(key="dialer.store_check", label="测试 S3 连接",
                                              href="/dialer/settings/store-check", permission="dialer:settings")])


async def current() -> DialerSettings:
    from core.settings.store import load

    try:
        return await load(SECTION)
    except Exception:  # no settings table in a bare test database: defaults
        return DialerSettings()
