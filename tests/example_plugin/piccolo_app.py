from pathlib import Path

from piccolo.conf.apps import AppConfig

from tests.example_plugin.tables import ExampleNote

APP_CONFIG = AppConfig(
    app_name="example",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[ExampleNote],
    migration_dependencies=["core.piccolo_app"],
)
