"""The import cursor: safe to store after any page.

A pass reads ``/v3.0/orders`` with one fixed ``updated_from`` and no upper bound, ordered by
``marketplace_order_date``. Orders never leave that set during the pass (``updated_at`` only grows), and
an order that changes keeps its place (its order date does not move) or enters the set, which only pushes
later orders further: resuming at a stored page can re-read, never skip. Changes made after the pass began
are caught by the next pass, which starts ``overlap`` seconds before this one began.

Format: ``v1|<since>|<page>|<page size>|<next since or ->`` (ISO 8601 UTC times). The page size is kept
because a page number means nothing under another size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lengow_tui.connector_api import ConnectorError

VERSION = "v1"


@dataclass(frozen=True)
class Cursor:
    since: datetime  # updated_from of the current pass
    page: int = 1  # the next page to read in the current pass
    page_size: int = 100
    next_since: datetime | None = None  # updated_from of the next pass, once this one is done

    def encode(self) -> str:
        following = self.next_since.isoformat() if self.next_since is not None else "-"
        return f"{VERSION}|{self.since.isoformat()}|{self.page}|{self.page_size}|{following}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        if raw is None:
            return None
        parts = raw.split("|")
        try:
            if len(parts) != 5 or parts[0] != VERSION:
                raise ValueError
            since = datetime.fromisoformat(parts[1])
            page, page_size = int(parts[2]), int(parts[3])
            next_since = None if parts[4] == "-" else datetime.fromisoformat(parts[4])
            if page < 1 or page_size < 1 or since.tzinfo is None:
                raise ValueError
        except ValueError:
            raise ConnectorError(f"not a Lengow cursor: {raw[:80]!r}", retryable=False) from None
        return cls(since, page, page_size, next_since)

    @property
    def mid_pass(self) -> bool:
        return self.next_since is not None
