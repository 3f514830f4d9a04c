"""lengow-tui's sandbox connector: simulated marketplaces for the demo, tests and benchmarks.

Registered through the ``lengow_tui`` entry-point group like any third-party connector; the hook is in
:mod:`lengow_tui_sandbox.plugin`.
"""
