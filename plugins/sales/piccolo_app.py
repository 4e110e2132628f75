"""The sales Piccolo app (tables and migrations of 销售管理)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.sales.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="sales",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=["core.piccolo_app", "core.customers.piccolo_app"],
    commands=[],
)
