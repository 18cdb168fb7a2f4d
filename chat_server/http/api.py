"""Privacy API under /api: export and erase one visitor.

Authentication: the operator's ``Authorization: Bearer <ADMIN_TOKEN>``, or
an admin agent (session cookie with CSRF header, or API token).
"""

from __future__ import annotations

from aiohttp import web

from chat_server.http.auth import require_admin
from chat_server.http.errors import json_error
from chat_server.http.keys import SERVICES
from chat_server.protocol.ids import is_visitor_id
from chat_server.services.privacy import VisitorNotFound

routes = web.RouteTableDef()


def visitor_id_param(request: web.Request) -> str:
    visitor_id = request.match_info["visitor_id"]
    if not is_visitor_id(visitor_id):
        raise json_error(web.HTTPBadRequest, "invalid", "malformed visitor id")
    return visitor_id


@routes.get("/api/visitors/{visitor_id}/export")
async def export_visitor(request: web.Request) -> web.Response:
    """Everything stored about one visitor (chat database and tracker store)."""
    await require_admin(request)
    try:
        data = await request.app[SERVICES].privacy.export(visitor_id_param(request))
    except VisitorNotFound:
        raise json_error(web.HTTPNotFound, "not_found", "no such visitor") from None
    return web.json_response(data)


@routes.delete("/api/visitors/{visitor_id}")
async def delete_visitor(request: web.Request) -> web.Response:
    """Erase one visitor from both stores; returns what was deleted."""
    await require_admin(request)
    try:
        counts = await request.app[SERVICES].privacy.erase(visitor_id_param(request))
    except VisitorNotFound:
        raise json_error(web.HTTPNotFound, "not_found", "no such visitor") from None
    return web.json_response({"deleted": counts})
