"""The agents' REST API under /api (docs/agent-api.md): parse, authenticate, call a service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from chat_server.db import paging
from chat_server.errors import ServiceError
from chat_server.http.auth import Caller, require_admin, require_agent
from chat_server.http.errors import json_error, service_error
from chat_server.http.keys import SERVICES, SETTINGS
from chat_server.protocol import agent as protocol
from chat_server.protocol import queries
from chat_server.protocol.ids import ROW_ID_MAX
from chat_server.protocol.queries import IntQuery
from chat_server.services.agents import AgentExists
from chat_server.services.container import Services
from chat_server.services.serialize import agent_json

routes = web.RouteTableDef()
Body = TypeVar("Body", bound=BaseModel)
T = TypeVar("T")


async def parse(request: web.Request, model: type[Body]) -> Body:
    """The JSON body validated by ``model``; 400 with the reason otherwise."""
    try:
        data = await request.json()
    except (ValueError, RecursionError):
        # ValueError covers bad JSON and bad UTF-8; RecursionError, nesting too deep.
        raise json_error(web.HTTPBadRequest, "invalid", "the body must be JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise json_error(web.HTTPBadRequest, "invalid", reasons) from None


def int_param(request: web.Request, name: str) -> int:
    try:
        value = int(request.match_info[name])
    except ValueError:
        raise json_error(web.HTTPNotFound, "not_found", f"malformed {name}") from None
    if not 0 < value <= ROW_ID_MAX:
        raise json_error(web.HTTPNotFound, "not_found", f"malformed {name}")
    return value


def int_query(request: web.Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise json_error(web.HTTPBadRequest, "invalid", f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise json_error(web.HTTPBadRequest, "invalid", f"{name} must be in {lo}..{hi}")
    return value


def query_int(request: web.Request, spec: IntQuery) -> int | None:
    """The integer query parameter ``spec`` states (protocol/queries.py); 400 otherwise."""
    return int_query(request, spec.name, spec.default, spec.lo, spec.hi)


def cursor_query(request: web.Request) -> str | None:
    """The ``cursor`` parameter (a list's next_cursor, passed back unchanged)."""
    raw = request.query.get("cursor")
    return raw if raw else None


async def paged(call: Awaitable[T]) -> T:
    """Await a list's page; a cursor that is not the list's own is a 400."""
    try:
        return await call
    except paging.BadCursor as exc:
        raise json_error(web.HTTPBadRequest, "invalid", f"cursor: {exc}") from None


async def map_service_errors(call: Awaitable[Any]) -> Any:
    """Await a service call; map its domain errors to HTTP errors."""
    try:
        return await call
    except ServiceError as exc:
        raise service_error(exc) from None


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def me_json(request: web.Request, caller: Caller) -> dict[str, Any]:
    return {
        "agent": await services(request).desk.agent(caller.agent.id),
        "csrf_token": caller.csrf_token,
        "must_change_password": caller.agent.must_change_password,
        # How the console alerts about queued chats (README: configuration).
        "alerts": {
            "queue_repeat_seconds": request.app[SETTINGS].queue_alert_repeat_seconds,
            "queue_escalation_minutes": request.app[SETTINGS].queue_escalation_minutes,
        },
    }


# -- authentication ------------------------------------------------------------


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    caller = await require_agent(request, allow_password_change=True, allow_marketer=True)
    return web.json_response(await me_json(request, caller))


@routes.patch("/api/me")
async def update_me(request: web.Request) -> web.Response:
    caller = await require_agent(request, allow_marketer=True)
    body = await parse(request, protocol.MeUpdate)
    svc = services(request)
    if body.notify_mode is not None or body.display_name is not None:
        await svc.agents.update(
            caller.agent.id, notify_mode=body.notify_mode, display_name=body.display_name
        )
    if body.status is not None:
        await map_service_errors(svc.handoff.set_status(caller.agent.id, body.status))
    return web.json_response({"agent": await svc.desk.agent(caller.agent.id)})


@routes.post("/api/me/token")
async def issue_token(request: web.Request) -> web.Response:
    caller = await require_agent(request, allow_marketer=True)
    token = await services(request).agents.issue_api_token(caller.agent.id)
    return web.json_response({"token": token})


# -- agents -------------------------------------------------------------------


@routes.get("/api/agents")
async def list_agents(request: web.Request) -> web.Response:
    await require_agent(request)
    limit = query_int(request, queries.AGENTS_LIMIT) or 500
    return web.json_response(
        await paged(services(request).desk.agents(limit, cursor_query(request)))
    )


@routes.post("/api/agents")
async def create_agent(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await parse(request, protocol.AgentCreate)
    try:
        agent = await services(request).agents.create(
            body.username, body.password, body.display_name, body.role, body.max_chats
        )
    except AgentExists:
        raise json_error(web.HTTPConflict, "conflict", "that username is taken") from None
    return web.json_response({"agent": agent_json(agent)}, status=201)


# -- conversations ----------------------------------------------------------------


@routes.get("/api/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    view = request.query.get("view", "open")
    if view not in protocol.VIEWS:
        raise json_error(web.HTTPBadRequest, "invalid", f"view must be one of {protocol.VIEWS}")
    limit = query_int(request, queries.CONVERSATIONS_LIMIT) or 50
    before = query_int(request, queries.BEFORE_ID)
    return web.json_response(
        await paged(
            services(request).desk.list_conversations(
                caller.agent, view, limit, before, cursor_query(request)
            )
        )
    )


@routes.get("/api/conversations/{id}")
async def conversation_detail(request: web.Request) -> web.Response:
    await require_agent(request)
    return web.json_response(
        await map_service_errors(services(request).desk.detail(int_param(request, "id")))
    )


@routes.get("/api/conversations/{id}/messages")
async def conversation_messages(request: web.Request) -> web.Response:
    await require_agent(request)
    limit = query_int(request, queries.MESSAGES_LIMIT) or 100
    before = query_int(request, queries.BEFORE_ID)
    after = query_int(request, queries.AFTER_ID)
    after_seq = query_int(request, queries.AFTER_SEQ)
    messages = await map_service_errors(
        services(request).desk.messages(int_param(request, "id"), limit, before, after, after_seq)
    )
    return web.json_response({"messages": messages})


@routes.post("/api/conversations/{id}/messages")
async def send_message(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    body = await parse(request, protocol.SendBody)
    message = await map_service_errors(
        services(request).desk.send(
            int_param(request, "id"), caller.agent, body.text, body.note, body.client_id
        )
    )
    return web.json_response({"message": message}, status=201)


def _transition_view(
    act: Callable[[Services, int, Caller, Any], Awaitable[Any]],
    body_model: type[BaseModel] | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        caller = await require_agent(request)
        body = await parse(request, body_model) if body_model else None
        svc = services(request)
        conversation_id = int_param(request, "id")
        await map_service_errors(act(svc, conversation_id, caller, body))
        detail = await svc.desk.detail(conversation_id)
        return web.json_response({"conversation": detail["conversation"]})

    return view


routes.post("/api/conversations/{id}/accept")(
    _transition_view(lambda s, cid, c, _: s.handoff.accept(cid, c.agent))
)
routes.post("/api/conversations/{id}/resolve")(
    _transition_view(lambda s, cid, c, _: s.handoff.resolve(cid, c.agent))
)
routes.post("/api/conversations/{id}/handback")(
    _transition_view(lambda s, cid, c, _: s.handoff.hand_back(cid, c.agent))
)
routes.post("/api/conversations/{id}/transfer")(
    _transition_view(
        lambda s, cid, c, b: s.handoff.transfer(cid, c.agent, b.agent_id, b.note),  # None: queue
        protocol.TransferBody,
    )
)


@routes.post("/api/conversations/{id}/read")
async def mark_read(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    await map_service_errors(
        services(request).desk.mark_read(int_param(request, "id"), caller.agent)
    )
    return web.Response(status=204)


@routes.get("/api/visitors/live")
async def live_visitors(request: web.Request) -> web.Response:
    await require_agent(request)
    limit = query_int(request, queries.LIVE_VISITORS_LIMIT) or 100
    visitors, next_cursor, total = await paged(
        services(request).live_visitors.current(limit, cursor_query(request))
    )
    return web.json_response({"visitors": visitors, "next_cursor": next_cursor, "total": total})


@routes.post("/api/visitors/{visitor_id}/conversation")
async def start_chat(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    body = await parse(request, protocol.StartChatBody)
    svc = services(request)
    conversation_id = await map_service_errors(
        svc.live_visitors.start_chat(request.match_info["visitor_id"][:64], caller.agent, body.text)
    )
    return web.json_response({"conversation_id": conversation_id}, status=201)


@routes.get("/api/visitors/{visitor_id}/conversations")
async def visitor_conversations(request: web.Request) -> web.Response:
    await require_agent(request)
    limit = query_int(request, queries.VISITOR_CONVERSATIONS_LIMIT) or 10
    before = query_int(request, queries.BEFORE_ID)
    return web.json_response(
        await paged(
            services(request).desk.visitor_conversations(
                request.match_info["visitor_id"][:64], limit, before, cursor_query(request)
            )
        )
    )


# -- canned responses and follow-ups -------------------------------------------------


@routes.get("/api/canned-responses")
async def list_canned(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    conversation_id = query_int(request, queries.CONVERSATION_ID)
    listed = await map_service_errors(
        services(request).canned.listed(caller.agent, conversation_id)
    )
    return web.json_response({"canned_responses": listed})


@routes.post("/api/canned-responses")
async def add_canned(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    body = await parse(request, protocol.CannedCreate)
    row = await map_service_errors(
        services(request).canned.add(caller.agent, body.shortcut, body.text)
    )
    return web.json_response({"canned_response": row}, status=201)


@routes.delete("/api/canned-responses/{id}")
async def delete_canned(request: web.Request) -> web.Response:
    await require_agent(request)
    await map_service_errors(services(request).canned.delete(int_param(request, "id")))
    return web.Response(status=204)


@routes.get("/api/followups")
async def list_followups(request: web.Request) -> web.Response:
    await require_agent(request)
    status = request.query.get("status", "open")
    if status not in queries.FOLLOWUP_STATUSES:
        raise json_error(web.HTTPBadRequest, "invalid", "status must be open or done")
    limit = query_int(request, queries.FOLLOWUPS_LIMIT) or 100
    return web.json_response(
        await paged(services(request).desk.followups(status, limit, cursor_query(request)))
    )


@routes.post("/api/followups/{id}/done")
async def followup_done(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    row = await map_service_errors(
        services(request).desk.followup_done(int_param(request, "id"), caller.agent)
    )
    return web.json_response({"followup": row})
