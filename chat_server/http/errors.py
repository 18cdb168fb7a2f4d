"""JSON error responses: ``{"error": <code>, "message": <text>}``."""

from __future__ import annotations

import json

from aiohttp import web


def json_error(
    status: type[web.HTTPException], code: str, message: str
) -> web.HTTPException:
    return status(
        text=json.dumps({"error": code, "message": message}), content_type="application/json"
    )


def too_many_requests(message: str, retry_after: int) -> web.HTTPException:
    """429 with Retry-After: a rate limit refused the request."""
    return web.HTTPTooManyRequests(
        text=json.dumps({"error": "rate_limited", "message": message, "retry_after": retry_after}),
        content_type="application/json",
        headers={"Retry-After": str(retry_after)},
    )
