"""All dialer route handlers (API and pages)."""

from __future__ import annotations

ROUTES: list = []
