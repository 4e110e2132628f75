"""Bad input to the dialer: a 400 whose message is Chinese + English."""

from __future__ import annotations

from typing import Any

from litestar.exceptions import ValidationException


class DialerInputError(ValidationException):
    status_code = 400

    def __init__(self, zh: str, en: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        message = f"{zh} / {en}"
        super().__init__(detail=message, extra=errors or [])
        self.message = message


class DialerConflict(DialerInputError):
    status_code = 409
