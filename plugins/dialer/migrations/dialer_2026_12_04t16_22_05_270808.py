from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T16:22:05:270808"
VERSION = "1.38.0"
DESCRIPTION = "call recording location"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="dialer", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Call",
        tablename="dialer_calls",
        column_name="recording_location",
        db_column_name="recording_location",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 500,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
