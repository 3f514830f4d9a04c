"""Exceptions a connector raises from ``fetch_orders``, ``get_order`` and document calls.

``perform`` reports through :class:`ActionResult` instead; it should not raise for marketplace answers.
Messages must not contain secrets or customer personal data: the host logs and shows them.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """A marketplace call failed. ``retryable`` says whether the same call may succeed later."""

    retryable: bool = True

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class AuthenticationError(ConnectorError):
    """Credentials were refused. Not retryable until the configuration changes."""

    retryable = False


class RateLimitedError(ConnectorError):
    """The marketplace asked us to slow down; wait ``retry_after`` seconds."""

    def __init__(self, message: str = "rate limited", *, retry_after: float = 60.0) -> None:
        super().__init__(message, retryable=True)
        self.retry_after = retry_after


class MalformedResponseError(ConnectorError):
    """The marketplace answered something we cannot parse (truncated JSON, wrong shape)."""
