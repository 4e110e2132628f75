"""外呼设置: the dialer's settings section (edited on the admin settings page)."""

from __future__ import annotations

from typing import Literal

import msgspec

from core.hooktypes import SettingsSection


class DialerSettings(msgspec.Struct, kw_only=True):
    followup_min_s: float = 10.0  # calls longer than this become a follow-up with the recording
    create_unknown_customer: bool = False  # an answered number of no customer becomes a 潜在 customer
    user_max_per_day: int = 400  # daily cap of dials per salesperson (campaign default)
    sim_max_per_day: int = 0  # campaign-wide daily cap per SIM under the SIM's own limit (0 = none)
    recording_retention_days: int = 0  # 0 = keep; else a daily job deletes recordings of calls older than this
    # Where new call recordings are written (each call remembers its own backend, so switching never loses
    # older ones). "s3" = any S3-compatible store (AWS, MinIO, Aliyun OSS, Tencent COS); if it fails when a
    # call ends, that recording stays on the local disk.
    recording_store: Literal["local", "s3"] = "local"
    s3_endpoint_url: str = ""  # e.g. https://oss-cn-hangzhou.aliyuncs.com, http://minio:9000; empty = AWS
    s3_region: str = ""  # e.g. cn-hangzhou, ap-guangzhou, us-east-1
    s3_bucket: str = ""
    s3_prefix: str = "waihubao/calls/"  # object key prefix
    s3_access_key: str = ""  # the secret key is never stored here: set WAIHUBAO_S3_SECRET_KEY on the server
    s3_path_style: bool = False  # path-style addressing (MinIO); Aliyun OSS and Tencent COS need it off


SECTION = SettingsSection(key="dialer", label="外呼设置", schema=DialerSettings, permission="dialer:settings")


async def current() -> DialerSettings:
    from core.settings.store import load

    try:
        return await load(SECTION)
    except Exception:  # no settings table in a bare test database: defaults
        return DialerSettings()
