"""Where the dialer keeps audio: `WAIHUBAO_FILES_DIR/dialer/…` (local disk; names never come from clients)."""

from __future__ import annotations

import os
from pathlib import Path


def root() -> Path:
    return Path(os.environ.get("WAIHUBAO_FILES_DIR", "var/files")) / "dialer"


def prompts_dir() -> Path:
    return root() / "prompts"


def calls_dir() -> Path:
    return root() / "calls"
