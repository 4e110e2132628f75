"""Calling windows, holidays and day/month keys in the campaign's time zone (Asia/Shanghai default)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from plugins.dialer.engine.config import CampaignConfig


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(now: float, tz: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, zone(tz))


def day_key(now: float, tz: str) -> int:
    return local(now, tz).date().toordinal()


def day_start(now: float, tz: str) -> float:
    """Local midnight of the day `now` falls on."""
    return local(now, tz).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_key(now: float, tz: str, reset_day: int = 1) -> int:
    """Months counted from the reset day: with reset day 15, Jan 15..Feb 14 is one month."""
    d = local(now, tz).date()
    months = d.year * 12 + d.month - 1
    return months if d.day >= reset_day else months - 1


def month_start(now: float, tz: str, reset_day: int = 1) -> dt.date:
    """The first day of the month `month_key` counts `now` in."""
    m = month_key(now, tz, reset_day)
    return dt.date(m // 12, m % 12 + 1, reset_day)


def is_working_day(day: dt.date, cfg: CampaignConfig) -> bool:
    """The campaign's own workdays/holidays first, then the public calendar (调休 included), then weekdays."""
    if day in cfg.workdays:
        return True
    if day in cfg.holidays:
        return False
    if cfg.public_holidays:
        days_off, weekend_workdays = public_calendar(cfg.public_holidays, day.year)
        if day in weekend_workdays:
            return True
        if day in days_off:
            return False
    return day.weekday() in cfg.weekdays


@lru_cache(maxsize=32)
def public_calendar(country: str, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """A year's statutory days off and the weekend days worked instead (调休), as python-holidays knows them
    (a year the State Council has not announced yet has its fixed holidays only)."""
    cal = holidays.country_holidays(country, years=year)
    return frozenset(cal), frozenset(d for d in cal.weekend_workdays if d.year == year)


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


_last: dict[int, tuple[CampaignConfig, float, bool, float]] = {}


def window_at(now: float, cfg: CampaignConfig) -> tuple[bool, float]:
    """(True, end of the open window) or (False, start of the next window; inf if none within a year)."""
    hit = _last.get(id(cfg))
    if hit is not None and hit[0] is cfg and hit[1] <= now < hit[3]:
        return hit[2], hit[3]  # same answer until the edge
    is_open, edge = _window_at(now, cfg)
    if len(_last) > 256:
        _last.clear()
    _last[id(cfg)] = (cfg, now, is_open, edge)
    return is_open, edge


def _window_at(now: float, cfg: CampaignConfig) -> tuple[bool, float]:
    tz = zone(cfg.tz)
    t = dt.datetime.fromtimestamp(now, tz)
    day = t.date()
    for offset in range(370):
        d = day + dt.timedelta(days=offset)
        if not is_working_day(d, cfg):
            continue
        midnight = dt.datetime(d.year, d.month, d.day, tzinfo=tz)
        for start, end in sorted(cfg.windows):
            s = (midnight + dt.timedelta(minutes=_minutes(start))).timestamp()
            e = (midnight + dt.timedelta(minutes=_minutes(end))).timestamp()
            if s <= now < e:
                return True, e
            if now < s:
                return False, s
    return False, float("inf")


def may_start_call(now: float, cfg: CampaignConfig) -> tuple[bool, float]:
    """A call may start only if its ring timeout ends inside the window. Returns (ok, when to look again)."""
    is_open, edge = window_at(now, cfg)
    if is_open and now + cfg.ring_timeout_s <= edge:
        return True, now
    if is_open:
        reopens, nxt = window_at(edge, cfg)
        return False, edge if reopens else nxt
    return False, edge
