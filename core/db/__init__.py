"""Database access: the engine, write transactions, migrations."""

from core.db.engine import database_url, engine, is_sqlite
from core.db.tx import read_tx, write_tx

__all__ = ["database_url", "engine", "is_sqlite", "read_tx", "write_tx"]
