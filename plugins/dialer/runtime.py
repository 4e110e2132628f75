"""The in-process runtime: open boxes, run campaigns on them (server with --simulated-box, or the agent)."""

from __future__ import annotations


def background_tasks() -> list:
    return []
