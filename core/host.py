"""The running process's plugin manager and licence, built once at start-up.

Routes and Piccolo apps are fixed when the app is built, so a licence change takes effect at the
next start (`waihubao licence install` says so). The licence's phase (valid → grace → read-only)
follows the calendar: it is re-read when the local date changes.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pluggy

from core import plugins
from core.licence import LicenceStatus, load_installed

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


class Host:
    def __init__(self, pm: pluggy.PluginManager, licence: LicenceStatus) -> None:
        self.pm = pm
        self._licence = licence
        self._licence_date = today()

    @property
    def licence(self) -> LicenceStatus:
        if today() != self._licence_date:
            self.refresh_licence()
        return self._licence

    def refresh_licence(self) -> LicenceStatus:
        """Re-read the installed licence (after an install, or when the date changes)."""
        self._licence_date = today()
        self._licence = load_installed(self._licence_date)
        return self._licence


_current: Host | None = None


def current() -> Host:
    global _current
    if _current is None:
        status = load_installed(today())
        _current = Host(pm=plugins.build(status), licence=status)
    return _current


def reset() -> None:
    """Forget the built host (tests; after installing a licence in-process)."""
    global _current
    _current = None
