"""The errors services raise, as one vocabulary.

Each says what went wrong in the caller's terms, with a stable ``code`` that
clients read (``{"error": code, "message": ...}`` over HTTP, ``{"ok": false,
"error": code, ...}`` in socket acks). The HTTP layer maps the kinds to
statuses in one place (http/errors.py), the socket layer in one place
(transport/guard.py); services never pick a status.

A service may subclass a kind for a sharper code (``AgentUnavailable`` is a
``Conflict`` with code ``agent_unavailable``); callers that only know the kind
still handle it.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a service raises on purpose."""

    code = "invalid"


class Invalid(ServiceError):
    """The request makes no sense as given (bad value, unknown name).

    ``fields`` optionally says what is wrong field by field
    (``[{"field": "rules.url_include.0", "message": ...}]``); HTTP sends it as ``errors``.
    """

    code = "invalid"

    def __init__(
        self, message: str = "invalid request", fields: list[dict[str, str]] | None = None
    ):
        super().__init__(message)
        self.fields = fields or []


class Unauthenticated(ServiceError):
    """No valid credentials."""

    code = "unauthenticated"


class Forbidden(ServiceError):
    """Valid credentials, but not allowed to do this."""

    code = "forbidden"


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    """The thing is not in a state that allows this (or someone was faster)."""

    code = "conflict"


class Unavailable(ServiceError):
    """A dependency (database, Rasa) is not there right now; try again shortly."""

    code = "unavailable"


class RateLimited(ServiceError):
    """Too many requests; ``retry_after`` seconds until the next is allowed."""

    code = "rate_limited"

    def __init__(self, message: str = "too many requests", retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AgentUnavailable(Conflict):
    """The chosen agent cannot take a chat now (offline, full, marketer, ...)."""

    code = "agent_unavailable"
