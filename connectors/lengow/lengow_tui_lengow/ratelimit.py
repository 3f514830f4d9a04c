"""The client-side limit on Lengow's order routes: at most N calls in any 60 seconds.

Lengow counts calls per route and per login in one-minute windows and answers 429 beyond 500 on
``/v3.0/orders`` (reference/lengow.md §1.3); its plugins stop at 500 calls per 60 s on the orders, moi and
actions routes. A sliding window never exceeds the quota in any fixed window. The limiter does not sleep:
it says how long to wait, and the client reports that to the host as a rate limit, so the host's rate gate
paces the channel (and other channels go on meanwhile).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class CallWindow:
    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self.calls: deque[float] = deque()

    def reserve(self) -> float:
        """Count one call and return 0, or return the seconds to wait (the call must not be made)."""
        now = self.clock()
        while self.calls and now - self.calls[0] >= WINDOW_SECONDS:
            self.calls.popleft()
        if len(self.calls) >= self.limit:
            return max(0.001, WINDOW_SECONDS - (now - self.calls[0]))
        self.calls.append(now)
        return 0.0
