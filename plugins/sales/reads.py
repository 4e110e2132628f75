"""`reads()`: a page's several reads on one connection where that pays.

SQLite opens a connection per query outside a transaction (1–3 ms each), so the reads share one
deferred read transaction; on PostgreSQL the pool hands out connections cheaply and a transaction
would only add BEGIN/COMMIT round trips.
"""

from __future__ import annotations

import contextlib

from core.db import is_sqlite
from core.db.tx import read_tx


def reads() -> contextlib.AbstractAsyncContextManager[None]:
    return read_tx() if is_sqlite() else contextlib.nullcontext()
