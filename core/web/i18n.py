"""zh-CN first, English second: messages are written in Chinese and translated by a Babel catalog.

Catalogs are `.po` files under `locale/<lang>/LC_MESSAGES/messages.po` of core and each plugin,
compiled in memory at start-up. The current language lives in a context variable per request.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from core.host import SHANGHAI

LANGUAGES = {"zh-CN": "中文", "en": "English"}
DEFAULT_LANG = "zh-CN"
CORE_LOCALE_DIR = Path(__file__).parent / "locale"
_lang: ContextVar[str] = ContextVar("waihubao_lang", default=DEFAULT_LANG)


def set_language(lang: str) -> None:
    _lang.set(lang if lang in LANGUAGES else DEFAULT_LANG)


def current_language() -> str:
    return _lang.get()


def babel_locale(lang: str | None = None) -> Locale:
    return Locale.parse((lang or current_language()).replace("-", "_"))


_extra_dirs: list[Path] = []


def add_locale_dir(path: Path) -> None:
    if path not in _extra_dirs:
        _extra_dirs.append(path)
        _translations.cache_clear()


@cache
def _translations(lang: str) -> NullTranslations:
    if lang == DEFAULT_LANG:
        return NullTranslations()
    merged: Translations | None = None
    for base in [CORE_LOCALE_DIR, *_extra_dirs]:
        po = base / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        loaded = Translations(fp=buf)
        if merged is None:
            merged = loaded
        else:
            merged.merge(loaded)
    return merged or NullTranslations()


def gettext(message: str) -> str:
    return _translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations(current_language()).ngettext(singular, plural, n)


def fmt_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return format_datetime(value.astimezone(SHANGHAI), "yyyy-MM-dd HH:mm", locale=babel_locale())


def fmt_date(value: dt.date | None) -> str:
    return "" if value is None else format_date(value, "yyyy-MM-dd", locale=babel_locale())


def fmt_money(value: decimal.Decimal | float | int | None) -> str:
    return "" if value is None else format_currency(value, "CNY", locale=babel_locale())


def fmt_number(value: float | int | None) -> str:
    return "" if value is None else format_decimal(value, locale=babel_locale())
