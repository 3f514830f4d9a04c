"""Crash reports: written to the log directory without local variables, path printed on exit.

Textual's default crash output shows local variables, which would put customer data and secrets on
the terminal; we replace it with a redacted report.
"""

from __future__ import annotations

import platform
import re
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

from lengow_tui import __version__

_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def redact(text: str) -> str:
    text = _URL_PASSWORD.sub(r"\1***@", text)
    return _EMAIL.sub("<email>", text)


def write_crash_report(error: BaseException, log_dir: Path) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = log_dir / f"crash-{stamp}.txt"
    # Frames and line numbers only: exception messages are kept but redacted; locals never.
    frames = traceback.format_exception(type(error), error, error.__traceback__)
    body = "".join(frames)
    report = (
        f"lengow-tui {__version__} crash report\n"
        f"time: {datetime.now(UTC).isoformat()}\n"
        f"python: {sys.version.split()[0]} on {platform.platform()}\n\n"
        f"{redact(body)}"
    )
    path.write_text(report, encoding="utf-8")
    path.chmod(0o600)
    return path
