"""The running process's plugin manager and licence, built once at start-up.

Routes and Piccolo apps are fixed when the app is built, so a licence change takes effect at the
next start (`waihubao licence install` says so); expiry and read-only are checked on every request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pluggy

from core import plugins
from core.licence import LicenceStatus, load_installed

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Host:
    pm: pluggy.PluginManager
    licence: LicenceStatus

    def refresh_licence(self) -> LicenceStatus:
        """Re-read the installed licence (its phase changes with the date)."""
        self.licence = load_installed(today())
        return self.licence


_current: Host | None = None


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


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
