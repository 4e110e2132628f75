"""The customers Piccolo app (tables and migrations of 客户管理)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.customers.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="customers",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=["core.piccolo_app"],
    commands=[],
)
