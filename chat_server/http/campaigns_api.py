"""Campaign endpoints (admins, marketers, the operator token; docs/campaigns.md, "REST API").

Thin: parse, authorise, call CampaignService. Agents may read one campaign's
name and variant keys (which campaign opened a conversation), nothing else.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chat_server.http.agent_api import cursor_query, paged, query_int
from chat_server.http.auth import is_operator, require_agent, require_analytics
from chat_server.http.errors import json_error
from chat_server.http.keys import SERVICES
from chat_server.protocol import queries
from chat_server.protocol.agent import ROLE_ADMIN, ROLE_MARKETER
from chat_server.services.campaigns.service import CampaignService

routes = web.RouteTableDef()


def _campaigns(request: web.Request) -> CampaignService:
    return request.app[SERVICES].campaigns


def _id(request: web.Request) -> int:
    value = request.match_info["id"]
    if not value.isdigit() or len(value) > 9:
        raise json_error(web.HTTPNotFound, "not_found", "no such campaign")
    return int(value)


async def _writer(request: web.Request) -> int | None:
    """An admin or marketer (their id), or the operator's token (None)."""
    caller = await require_analytics(request)
    return caller.agent.id if caller else None


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, RecursionError):
        raise json_error(web.HTTPBadRequest, "invalid", "the body must be JSON") from None
    if not isinstance(data, dict):
        raise json_error(web.HTTPBadRequest, "invalid", "the body must be a JSON object")
    return data


@routes.get("/api/campaigns")
async def list_campaigns(request: web.Request) -> web.Response:
    await require_analytics(request)
    limit = query_int(request, queries.CAMPAIGNS_LIMIT) or queries.CAMPAIGNS_LIMIT.default or 50
    status = request.query.get("status") or None
    rows, next_cursor = await paged(_campaigns(request).list(status, limit, cursor_query(request)))
    return web.json_response({"campaigns": rows, "next_cursor": next_cursor})


@routes.post("/api/campaigns")
async def create_campaign(request: web.Request) -> web.Response:
    by = await _writer(request)
    campaign = await _campaigns(request).create(await _body(request), by)
    return web.json_response({"campaign": campaign}, status=201)


@routes.post("/api/campaigns/validate")
async def validate_campaign(request: web.Request) -> web.Response:
    await _writer(request)
    found = await _campaigns(request).validate(await _body(request))
    return web.json_response({"ok": not found, "errors": found})


@routes.get("/api/campaigns/{id}")
async def get_campaign(request: web.Request) -> web.Response:
    campaigns = request.app[SERVICES].campaigns
    if not is_operator(request):
        caller = await require_agent(request, allow_marketer=True)
        if caller.agent.role not in (ROLE_ADMIN, ROLE_MARKETER):
            return web.json_response({"campaign": await campaigns.brief(_id(request))})
    return web.json_response({"campaign": await campaigns.get(_id(request))})


@routes.patch("/api/campaigns/{id}")
async def update_campaign(request: web.Request) -> web.Response:
    by = await _writer(request)
    body = await _body(request)
    campaign = await _campaigns(request).update(_id(request), body, by)
    return web.json_response({"campaign": campaign})


@routes.delete("/api/campaigns/{id}")
async def delete_campaign(request: web.Request) -> web.Response:
    by = await _writer(request)
    await _campaigns(request).delete(_id(request), by)
    return web.Response(status=204)


@routes.post("/api/campaigns/{id}/start")
async def start_campaign(request: web.Request) -> web.Response:
    by = await _writer(request)
    return web.json_response({"campaign": await _campaigns(request).start(_id(request), by)})


@routes.post("/api/campaigns/{id}/pause")
async def pause_campaign(request: web.Request) -> web.Response:
    by = await _writer(request)
    return web.json_response({"campaign": await _campaigns(request).pause(_id(request), by)})


@routes.post("/api/campaigns/{id}/end")
async def end_campaign(request: web.Request) -> web.Response:
    by = await _writer(request)
    return web.json_response({"campaign": await _campaigns(request).end(_id(request), by)})


@routes.post("/api/campaigns/{id}/archive")
async def archive_campaign(request: web.Request) -> web.Response:
    by = await _writer(request)
    return web.json_response({"campaign": await _campaigns(request).archive(_id(request), by)})


@routes.post("/api/campaigns/{id}/versions")
async def new_version(request: web.Request) -> web.Response:
    by = await _writer(request)
    campaign = await _campaigns(request).new_version(_id(request), by)
    return web.json_response({"campaign": campaign}, status=201)
