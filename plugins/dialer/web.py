"""All dialer route handlers (API and pages)."""

from __future__ import annotations

from plugins.dialer.agent_server import AGENT_ROUTES
from plugins.dialer.api import API_ROUTES
from plugins.dialer.pages import PAGE_ROUTES

ROUTES: list = [*API_ROUTES, *AGENT_ROUTES, *PAGE_ROUTES]
