"""The sync engine: import orders, deliver queued actions. Shared by ``sync --once``, the daemon and the TUI."""
