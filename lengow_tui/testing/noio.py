"""Import a connector's plugin module in a fresh interpreter where network, file and process access
fail, and report what the import tried. Run by the kit as ``python -m lengow_tui.testing.noio MODULE``.

Listing plugins (``lengow-tui plugins``) imports every plugin module and calls its
``register_connectors`` hook: it must stay fast and offline, so neither may open sockets, files or
processes. Reading Python modules is not affected (the import system does not use ``open``).
"""

from __future__ import annotations

import builtins
import io
import json
import os
import socket
import subprocess
import sys
import traceback
from typing import Any

attempts: list[str] = []


def _where() -> str:
    # the innermost frame outside this file: the line of the plugin (or its dependency) that did it
    for frame in reversed(traceback.extract_stack()[:-2]):
        if frame.filename != __file__:
            return f"{frame.filename}:{frame.lineno}"
    return "?"


def _refuse(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        detail = repr(args[0])[:120] if args else ""
        attempts.append(f"{what}({detail}) at {_where()}")
        raise OSError(f"{what} is not allowed while importing a connector plugin (lengow_tui conformance kit)")

    return refuse


def main(module: str) -> int:
    socket.socket.connect = _refuse("socket.connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse("socket.connect_ex")  # type: ignore[method-assign]
    socket.create_connection = _refuse("socket.create_connection")
    socket.getaddrinfo = _refuse("socket.getaddrinfo")
    builtins.open = _refuse("open")
    io.open = _refuse("open")
    os.open = _refuse("os.open")  # type: ignore[assignment]
    subprocess.Popen.__init__ = _refuse("subprocess.Popen")  # type: ignore[method-assign]
    os.system = _refuse("os.system")
    report: dict[str, Any] = {"module": module, "error": None, "connectors": []}
    try:
        plugin = __import__(module, fromlist=["register_connectors"])
        hook = getattr(plugin, "register_connectors", None)
        if hook is not None:
            report["connectors"] = [getattr(spec, "name", "?") for spec in hook() or ()]
    except BaseException as exc:  # report it, whatever it is: the kit turns it into a failure message
        report["error"] = f"{type(exc).__name__}: {exc}"
    report["attempts"] = attempts
    sys.stdout.write("\n" + json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
