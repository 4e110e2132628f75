"""Waihubao core: the platform every module plugs into."""

import os

# Piccolo finds its engine and app registry through this module.
os.environ.setdefault("PICCOLO_CONF", "core.db.piccolo_conf")
