"""JSON error responses: ``{"error": <code>, "message": <text>}``.

:func:`error_middleware` makes every failure of the REST API look like that:
aiohttp's own refusals (no such route, wrong method, body too large) and any
unexpected exception, which becomes a 500 with no details — the traceback
goes to the log, never to the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from chat_server import errors, metrics
from chat_server.db.availability import AVAILABILITY
from chat_server.db.engine import is_unavailable

log = logging.getLogger(__name__)

INTERNAL_ERROR = "internal_error"
INTERNAL_MESSAGE = "Something went wrong; please try again."
UNAVAILABLE = "unavailable"
UNAVAILABLE_MESSAGE = "The database cannot be reached right now; please try again shortly."
UNAVAILABLE_RETRY_SECONDS = 2

# Codes for aiohttp's own refusals, by status.
_CODES = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "invalid",
}


def json_error(status: type[web.HTTPException], code: str, message: str) -> web.HTTPException:
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


# The one place a service error becomes an HTTP status (chat_server/errors.py).
SERVICE_STATUS: dict[type[errors.ServiceError], type[web.HTTPException]] = {
    errors.Invalid: web.HTTPBadRequest,
    errors.Unauthenticated: web.HTTPUnauthorized,
    errors.Forbidden: web.HTTPForbidden,
    errors.NotFound: web.HTTPNotFound,
    errors.Conflict: web.HTTPConflict,
    errors.Unavailable: web.HTTPServiceUnavailable,
}


def service_error(exc: errors.ServiceError) -> web.HTTPException:
    """The HTTP response for an error a service raised on purpose."""
    if isinstance(exc, errors.RateLimited):
        return too_many_requests(str(exc), exc.retry_after)
    status = next(
        (s for kind, s in SERVICE_STATUS.items() if isinstance(exc, kind)), web.HTTPBadRequest
    )
    if isinstance(exc, errors.Invalid) and exc.fields:
        body = {"error": exc.code, "message": str(exc), "errors": exc.fields}
        return status(text=json.dumps(body), content_type="application/json")
    return json_error(status, exc.code, str(exc))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON errors under /api; a detail-free 500 for anything unexpected, anywhere."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if (
            exc.status < 400
            or exc.content_type == "application/json"
            or not request.path.startswith("/api/")
        ):
            raise
        code = _CODES.get(exc.status, "invalid" if exc.status < 500 else INTERNAL_ERROR)
        exc.text = json.dumps({"error": code, "message": exc.reason})
        exc.content_type = "application/json"
        raise
    except errors.ServiceError as exc:
        # Raised on purpose and not mapped by the view: the kind decides the status.
        raise service_error(exc) from None
    except Exception as error:
        if is_unavailable(error):
            # An outage, not a bug: no traceback, and a status clients retry on.
            metrics.ERRORS.labels("http_unavailable").inc()
            AVAILABILITY.failed(error, f"{request.method} {request.path}")
            return web.json_response(
                {"error": UNAVAILABLE, "message": UNAVAILABLE_MESSAGE},
                status=503,
                headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
            )
        metrics.ERRORS.labels("http_internal_error").inc()
        log.exception("%s %s failed", request.method, request.path)
        return web.json_response({"error": INTERNAL_ERROR, "message": INTERNAL_MESSAGE}, status=500)
