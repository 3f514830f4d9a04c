"""The full-screen order desk (Textual). Front end only: it talks to services, never to SQL or HTTP."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime


def run_app(runtime: Runtime, *, read_only: bool = False, mouse: bool | None = None, live_sync: bool = True,
            ascii: bool | None = None) -> int:
    """Run the desk until the user quits. Returns the exit status (1 after a crash)."""
    from lengow_tui.tui.app import LengowApp

    app = LengowApp(runtime, read_only=read_only, live_sync=live_sync, ascii=ascii)
    app.run(mouse=runtime.config.mouse if mouse is None else mouse)
    if app.crash_report is not None:
        print(f"lengow-tui stopped on an unexpected error. A report (without customer data) is in:\n  {app.crash_report}",
              file=sys.stderr)
        return 1
    if app.return_code:
        print("lengow-tui stopped on an unexpected error.", file=sys.stderr)
    return app.return_code or 0
