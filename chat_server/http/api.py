"""Authenticated REST API under /api (operators; agents arrive with handoff).

Authentication: ``Authorization: Bearer <ADMIN_TOKEN>``. Without a configured
ADMIN_TOKEN the API answers 503 rather than being open.
"""

from __future__ import annotations

import hmac
import re

from aiohttp import web

from chat_server.http.keys import PRIVACY, SETTINGS
from chat_server.services.privacy import VisitorNotFound

routes = web.RouteTableDef()
_VISITOR_ID = re.compile(r"^[0-9a-f]{32}$")


def _json_error(status: type[web.HTTPException], message: str) -> web.HTTPException:
    return status(text=f'{{"error": "{message}"}}', content_type="application/json")


def require_admin(request: web.Request) -> None:
    """Raise unless the request carries the admin bearer token."""
    token = request.app[SETTINGS].admin_token
    if token is None:
        raise _json_error(web.HTTPServiceUnavailable, "the API is disabled: set ADMIN_TOKEN")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.encode(), token.get_secret_value().encode()
    ):
        raise _json_error(web.HTTPUnauthorized, "missing or wrong bearer token")


def visitor_id_param(request: web.Request) -> str:
    visitor_id = request.match_info["visitor_id"]
    if not _VISITOR_ID.match(visitor_id):
        raise _json_error(web.HTTPBadRequest, "malformed visitor id")
    return visitor_id


@routes.get("/api/visitors/{visitor_id}/export")
async def export_visitor(request: web.Request) -> web.Response:
    """Everything stored about one visitor (chat database and tracker store)."""
    require_admin(request)
    try:
        data = await request.app[PRIVACY].export(visitor_id_param(request))
    except VisitorNotFound:
        raise _json_error(web.HTTPNotFound, "no such visitor") from None
    return web.json_response(data)


@routes.delete("/api/visitors/{visitor_id}")
async def delete_visitor(request: web.Request) -> web.Response:
    """Erase one visitor from both stores; returns what was deleted."""
    require_admin(request)
    try:
        counts = await request.app[PRIVACY].erase(visitor_id_param(request))
    except VisitorNotFound:
        raise _json_error(web.HTTPNotFound, "no such visitor") from None
    return web.json_response({"deleted": counts})
