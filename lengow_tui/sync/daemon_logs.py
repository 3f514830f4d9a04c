"""The daemon's logs: one JSON object per line (or a readable line with ``--log-format text``).

Records carry an ``event`` name and a few fields — channel names, ids, counts, durations. The daemon never
passes channel settings, buyer data or raw payloads to the logger; text that comes from a connector goes
through :func:`lengow_tui.text.clean_text` first. Third-party loggers are kept at WARNING: httpx logs
every request URL at INFO, and a URL can carry an API key in its query string.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from lengow_tui.text import clean_text

LOGGER_NAME = "lengow_tui.daemon"
LogFormat = Literal["json", "text"]

# The record attribute our fields travel in (one attribute: field names such as "created" or "name"
# would otherwise collide with LogRecord's own).
_FIELDS_ATTR = "lengow_fields"
_QUIET_LOGGERS = ("httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access", "asyncio")

logger = logging.getLogger(LOGGER_NAME)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, _FIELDS_ATTR, None)
    return {k: v for k, v in fields.items() if k not in _RESERVED} if isinstance(fields, dict) else {}


_RESERVED = frozenset({"ts", "level", "event", "logger"})


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event(record: logging.LogRecord) -> str:
    # Our records are event names without arguments; a third-party message is free text, so clean it.
    return clean_text(record.getMessage(), 500)


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "event", "logger", ...fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname.lower(),
                               "event": _event(record)}
        if record.name != LOGGER_NAME:
            doc["logger"] = record.name
        doc.update(_fields(record))
        if record.exc_info and record.exc_info[1] is not None:
            # The exception's type and cleaned message, not the traceback: frames can quote arguments.
            exc = record.exc_info[1]
            doc.setdefault("error", clean_text(f"{type(exc).__name__}: {exc}", 500))
        return json.dumps(doc, default=str, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``2026-05-01T08:00:00.000Z info import_done channel=shop created=3`` for humans."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname.lower(), _event(record)]
        parts += [f"{k}={_text_value(v)}" for k, v in _fields(record).items()]
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            parts.append(f"error={_text_value(clean_text(f'{type(exc).__name__}: {exc}', 500))}")
        return " ".join(parts)


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return json.dumps(text, ensure_ascii=False) if (not text or " " in text or "=" in text) else text


def setup_logging(fmt: LogFormat = "json", log_file: Path | None = None) -> logging.Handler:
    """Route the daemon's records (and other libraries' warnings) to stderr or ``log_file``.

    ``log_file`` uses a WatchedFileHandler so that logrotate can move the file away under a running
    daemon. Returns the handler (tests and shutdown flush it).
    """
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logger.setLevel(logging.INFO)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


def log(event: str, level: int = logging.INFO, /, **fields: Any) -> None:
    """Log ``event`` with ``fields`` (ids, counts, channel names — never settings or personal data)."""
    logger.log(level, event, extra={_FIELDS_ATTR: fields})
