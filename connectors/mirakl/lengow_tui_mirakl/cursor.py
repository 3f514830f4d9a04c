"""The import cursor: safe to store after any page.

OR11 is read sorted by creation date with a fixed ``start_update_date`` for a whole pass. An order
that changes during the pass keeps its place (its creation date does not move) or enters the result
set, which only pushes later orders further: resuming at the stored offset can re-read, never skip.
Changes made after the pass began are caught by the next pass, which starts ``overlap`` seconds
before this one began.

Format: ``v1|<since or ->|<offset>|<next since or ->`` (ISO 8601 UTC times).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lengow_tui.connector_api import ConnectorError

VERSION = "v1"


@dataclass(frozen=True)
class Cursor:
    since: datetime | None  # start_update_date of the current pass (None: everything)
    offset: int = 0  # where to resume inside the current pass
    next_since: datetime | None = None  # start_update_date of the next pass, once this one is done

    def encode(self) -> str:
        def text(value: datetime | None) -> str:
            return value.isoformat() if value is not None else "-"

        return f"{VERSION}|{text(self.since)}|{self.offset}|{text(self.next_since)}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        if raw is None:
            return None
        parts = raw.split("|")
        try:
            if len(parts) != 4 or parts[0] != VERSION:
                raise ValueError
            since = None if parts[1] == "-" else datetime.fromisoformat(parts[1])
            next_since = None if parts[3] == "-" else datetime.fromisoformat(parts[3])
            offset = int(parts[2])
            if offset < 0:
                raise ValueError
        except ValueError:
            raise ConnectorError(f"not a Mirakl cursor: {raw[:80]!r}", retryable=False) from None
        return cls(since, offset, next_since)

    @property
    def mid_pass(self) -> bool:
        return self.next_since is not None
