"""The application API shared by the CLI and the TUI: queries, action intents, export.

Front ends call these functions; they never write SQL or HTTP themselves.
"""
