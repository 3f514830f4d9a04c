"""lengow-tui connector for the Lengow API v3: every marketplace of a Lengow account through one channel.

Declarations are fetched at run time from ``GET /v3.0/marketplaces`` (``dynamic_marketplaces``); see
docs/connectors/lengow.md.
"""
