"""Hardware drivers. Each driver package is independent of the CRM (no `core`/`plugins` imports)."""
