"""Dialects: one class per firmware family. `get_dialect("quectel" | "simcom")`."""

from __future__ import annotations

from ..errors import InvalidArgument
from .base import AnswerHeuristic, CallState, CallUpdate, Dialect
from .quectel import QuectelDialect
from .simcom import SimcomDialect

DIALECTS: dict[str, type[Dialect]] = {"quectel": QuectelDialect, "simcom": SimcomDialect}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name.lower()]()
    except KeyError:
        raise InvalidArgument(f"unknown dialect {name!r}; known: {', '.join(DIALECTS)}") from None


def detect_dialect(manufacturer: str) -> Dialect:
    m = manufacturer.lower()
    for cls in DIALECTS.values():
        if any(m.startswith(x) for x in cls.manufacturers):
            return cls()
    return QuectelDialect()


__all__ = [
    "DIALECTS",
    "AnswerHeuristic",
    "CallState",
    "CallUpdate",
    "Dialect",
    "QuectelDialect",
    "SimcomDialect",
    "detect_dialect",
    "get_dialect",
]
