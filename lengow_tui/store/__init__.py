"""Persistence: SQLModel tables, engine set-up, migrations."""

from lengow_tui.store.engine import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
