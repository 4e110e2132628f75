"""The SMS plugin's Piccolo app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.sms.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="sms",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=ALL_TABLES,
    migration_dependencies=["core.piccolo_app", "core.customers.piccolo_app"],
)
