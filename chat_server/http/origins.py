"""Which web pages may talk to this server from a browser (widget socket, CORS).

By default only pages served by this server itself; a site owner adds the
origins of the pages that embed the widget in ALLOWED_ORIGINS.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


class OriginPolicy:
    """The allow-list of browser origins (scheme://host[:port])."""

    def __init__(self, allowed: str | None) -> None:
        entries = [o.strip().rstrip("/").lower() for o in (allowed or "").split(",") if o.strip()]
        self.any = "*" in entries
        self.allowed = frozenset(e for e in entries if e != "*")

    def allows(self, origin: str | None, host: str | None, scheme: str = "http") -> bool:
        """Whether a page at ``origin`` may call the server reached at ``host``."""
        if not origin:
            return True  # not a browser page (server-side scripts, tests)
        origin = origin.strip().rstrip("/").lower()
        if self.any or origin in self.allowed:
            return True
        parts = urlsplit(origin)
        # Same origin: the page came from this server (the demo store, the console).
        return (
            bool(host)
            and parts.netloc == (host or "").lower()
            and parts.scheme
            in (
                "http",
                "https",
                scheme,
            )
        )

    def for_socketio(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """python-socketio's `cors_allowed_origins` callable."""
        return self.allows(
            origin, environ.get("HTTP_HOST"), str(environ.get("wsgi.url_scheme", "http"))
        )
