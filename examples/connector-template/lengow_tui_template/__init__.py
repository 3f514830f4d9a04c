"""A template lengow-tui connector for the fictional marketplace "Marché Exemple".

The entry point (``pyproject.toml``) names :mod:`lengow_tui_template.plugin`; the rest is imported only
when a channel syncs.
"""
