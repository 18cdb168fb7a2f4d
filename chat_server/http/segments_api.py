"""Segments: saved visitor filters (admins, marketers, the operator token).

Thin: parse, authorise, call SegmentService (services/segments/). Errors the
service raises (unknown segment, name taken, in use by a campaign) become
404/409 in http/errors.py. docs/segments.md describes fields and operators.
"""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from chat_server.http.agent_api import int_param
from chat_server.http.auth import Caller, is_operator, require_agent
from chat_server.http.errors import json_error
from chat_server.http.keys import SERVICES
from chat_server.protocol.agent import ROLE_ADMIN, ROLE_MARKETER
from chat_server.services.segments.fields import describe_all
from chat_server.services.segments.filter import (
    SegmentCreate,
    SegmentPreview,
    SegmentUpdate,
    reasons,
)

routes = web.RouteTableDef()
Body = TypeVar("Body", bound=BaseModel)


async def require_marketing(request: web.Request) -> Caller | None:
    """An admin or marketer, or the operator's token (None then); raise 401/403."""
    if is_operator(request):
        return None
    caller = await require_agent(request, allow_marketer=True)
    if caller.agent.role not in (ROLE_ADMIN, ROLE_MARKETER):
        raise json_error(web.HTTPForbidden, "forbidden", "segments are for admins and marketers")
    return caller


async def _body(request: web.Request, model: type[Body]) -> Body:
    """The JSON body validated by ``model``; 400 naming each problem."""
    try:
        data = await request.json()
    except (ValueError, RecursionError):
        raise json_error(web.HTTPBadRequest, "invalid", "the body must be JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise json_error(web.HTTPBadRequest, "invalid", reasons(exc)) from None


def _archived(request: web.Request) -> bool:
    raw = request.query.get("archived", "false")
    if raw not in ("true", "false"):
        raise json_error(web.HTTPBadRequest, "invalid", "archived must be true or false")
    return raw == "true"


@routes.get("/api/segments/fields")
async def segment_fields(request: web.Request) -> web.Response:
    await require_marketing(request)
    return web.json_response({"fields": describe_all()})


@routes.post("/api/segments/preview")
async def preview(request: web.Request) -> web.Response:
    await require_marketing(request)
    body = await _body(request, SegmentPreview)
    return web.json_response(
        {"count": await request.app[SERVICES].segments.preview_count(body.filter)}
    )


@routes.get("/api/segments")
async def list_segments(request: web.Request) -> web.Response:
    await require_marketing(request)
    found = await request.app[SERVICES].segments.list(include_archived=_archived(request))
    return web.json_response({"segments": found})


@routes.post("/api/segments")
async def create_segment(request: web.Request) -> web.Response:
    caller = await require_marketing(request)
    body = await _body(request, SegmentCreate)
    segment = await request.app[SERVICES].segments.create(
        body.name, body.filter, body.description, caller.agent.id if caller else None
    )
    return web.json_response({"segment": segment}, status=201)


@routes.get("/api/segments/{id}")
async def get_segment(request: web.Request) -> web.Response:
    await require_marketing(request)
    segments = request.app[SERVICES].segments
    segment_id = int_param(request, "id")
    segment = await segments.get(segment_id)
    return web.json_response({"segment": segment, "count": await segments.count(segment_id)})


@routes.patch("/api/segments/{id}")
async def update_segment(request: web.Request) -> web.Response:
    await require_marketing(request)
    segment_id = int_param(request, "id")
    body = await _body(request, SegmentUpdate)
    segment = await request.app[SERVICES].segments.update(
        segment_id, body.name, body.description, body.filter
    )
    return web.json_response({"segment": segment})


@routes.delete("/api/segments/{id}")
async def archive_segment(request: web.Request) -> web.Response:
    """Archive: segments are never deleted (campaign results refer to them)."""
    await require_marketing(request)
    segment = await request.app[SERVICES].segments.archive(int_param(request, "id"))
    return web.json_response({"segment": segment})
