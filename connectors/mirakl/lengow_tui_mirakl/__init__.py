"""lengow-tui connector for Mirakl marketplaces (seller / shop API), with a loopback emulator.

Importing this package does no I/O and imports no network code: the host lists plugins cheaply.
"""

__all__: list[str] = []
