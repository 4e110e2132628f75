"""Bad input: a 400 whose message is Chinese + English (the customers' `InvalidInput`, so the API and the
pages render it the same way)."""

from __future__ import annotations

from typing import Any

from core.customers.errors import InvalidInput


class SmsError(InvalidInput):
    """Raised before anything is queued or sent."""


def sms_error(zh: str, en: str, *, errors: list[dict[str, Any]] | None = None) -> SmsError:
    return SmsError(f"{zh} / {en}", errors=errors)
