"""Piccolo's configuration module (found through PICCOLO_CONF, set in `core/__init__.py`).

The app list is core's app plus the Piccolo apps of *every* installed plugin, licensed or not:
tables of a module outside the licence stay migrated, so a downgrade loses no data.
"""

from piccolo.conf.apps import AppRegistry

from core.db.engine import engine
from core.plugins import build, collect_sync

DB = engine()
APP_REGISTRY = AppRegistry(apps=["core.piccolo_app", *collect_sync(build(None).hook.piccolo_apps)])
