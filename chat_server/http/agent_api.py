"""The agents' REST API under /api (docs/agent-api.md): parse, authenticate, call a service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from chat_server.http.addresses import client_address
from chat_server.http.auth import (
    SESSION_COOKIE,
    Caller,
    require_admin,
    require_agent,
    set_session_cookie,
)
from chat_server.http.errors import json_error, too_many_requests
from chat_server.http.keys import SERVICES, SETTINGS
from chat_server.protocol import agent as protocol
from chat_server.services import ratelimit
from chat_server.services.agents import AgentExists, AuthError
from chat_server.services.container import Services
from chat_server.services.handoff import HandoffError
from chat_server.services.ratelimit import RateLimited
from chat_server.services.serialize import agent_json

routes = web.RouteTableDef()
Body = TypeVar("Body", bound=BaseModel)

_STATUS = {
    "not_found": web.HTTPNotFound,
    "forbidden": web.HTTPForbidden,
    "conflict": web.HTTPConflict,
}


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
    if not 0 < value < 2**62:
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


async def handoff_call(call: Awaitable[Any]) -> Any:
    """Await a service call; map its domain errors to HTTP errors."""
    try:
        return await call
    except HandoffError as exc:
        raise json_error(_STATUS.get(exc.code, web.HTTPConflict), exc.code, str(exc)) from None


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def me_json(request: web.Request, caller: Caller) -> dict[str, Any]:
    return {
        "agent": await services(request).desk.agent(caller.agent.id),
        "csrf_token": caller.csrf_token,
        "must_change_password": caller.agent.must_change_password,
    }


# -- authentication ------------------------------------------------------------


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    body = await parse(request, protocol.LoginBody)
    limits = services(request).limits
    address = client_address(request, request.app[SETTINGS].trusted_proxy_set)
    # Per address, and per address and user name: guessing one agent's password
    # is slowed down without locking the agent out from everywhere else.
    attempt = f"{address}|{body.username.lower()}"
    try:
        await limits.hit(ratelimit.LOGINS_PER_IP, address)
        await limits.hit(ratelimit.LOGINS, attempt)
    except RateLimited as exc:
        raise too_many_requests(
            "Too many sign-in attempts. Please wait and try again.", exc.retry_after
        ) from None
    try:
        session = await services(request).agents.login(body.username, body.password)
    except AuthError as exc:
        raise json_error(web.HTTPUnauthorized, "unauthenticated", str(exc)) from None
    await limits.reset(ratelimit.LOGINS, attempt)
    agent = session.agent
    response = web.json_response(
        {
            "agent": agent_json(agent),
            "csrf_token": session.csrf_token,
            "must_change_password": agent.must_change_password,
        }
    )
    set_session_cookie(request, response, session.token)
    return response


@routes.post("/api/auth/logout")
async def logout(request: web.Request) -> web.Response:
    caller = await require_agent(request, allow_password_change=True, allow_marketer=True)
    if caller.session_token:
        await services(request).agents.logout(caller.session_token)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


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
        await handoff_call(svc.handoff.set_status(caller.agent.id, body.status))
    return web.json_response({"agent": await svc.desk.agent(caller.agent.id)})


@routes.post("/api/me/password")
async def change_password(request: web.Request) -> web.Response:
    caller = await require_agent(request, allow_password_change=True, allow_marketer=True)
    body = await parse(request, protocol.PasswordChange)
    try:
        await services(request).agents.change_password(
            caller.agent.id, body.current_password, body.new_password
        )
    except AuthError as exc:
        raise json_error(web.HTTPForbidden, "forbidden", str(exc)) from None
    return web.Response(status=204)


@routes.post("/api/me/token")
async def issue_token(request: web.Request) -> web.Response:
    caller = await require_agent(request, allow_marketer=True)
    token = await services(request).agents.issue_api_token(caller.agent.id)
    return web.json_response({"token": token})


# -- agents -------------------------------------------------------------------


@routes.get("/api/agents")
async def list_agents(request: web.Request) -> web.Response:
    await require_agent(request)
    return web.json_response({"agents": await services(request).desk.agents()})


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
    limit = int_query(request, "limit", 50, 1, 200) or 50
    before = int_query(request, "before_id", None, 1, 2**62)
    return web.json_response(
        await services(request).desk.list_conversations(caller.agent, view, limit, before)
    )


@routes.get("/api/conversations/{id}")
async def conversation_detail(request: web.Request) -> web.Response:
    await require_agent(request)
    return web.json_response(
        await handoff_call(services(request).desk.detail(int_param(request, "id")))
    )


@routes.get("/api/conversations/{id}/messages")
async def conversation_messages(request: web.Request) -> web.Response:
    await require_agent(request)
    limit = int_query(request, "limit", 100, 1, 500) or 100
    before = int_query(request, "before_id", None, 1, 2**62)
    after = int_query(request, "after_id", None, 0, 2**62)
    messages = await handoff_call(
        services(request).desk.messages(int_param(request, "id"), limit, before, after)
    )
    return web.json_response({"messages": messages})


@routes.post("/api/conversations/{id}/messages")
async def send_message(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    body = await parse(request, protocol.SendBody)
    message = await handoff_call(
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
        await handoff_call(act(svc, conversation_id, caller, body))
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
        lambda s, cid, c, b: s.handoff.transfer(cid, c.agent, b.agent_id, b.note),
        protocol.TransferBody,
    )
)


@routes.post("/api/conversations/{id}/read")
async def mark_read(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    await handoff_call(services(request).desk.mark_read(int_param(request, "id"), caller.agent))
    return web.Response(status=204)


@routes.get("/api/visitors/live")
async def live_visitors(request: web.Request) -> web.Response:
    await require_agent(request)
    return web.json_response({"visitors": await services(request).live_visitors.current()})


@routes.post("/api/visitors/{visitor_id}/conversation")
async def start_chat(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    body = await parse(request, protocol.StartChatBody)
    svc = services(request)
    conversation_id = await handoff_call(
        svc.live_visitors.start_chat(request.match_info["visitor_id"][:64], caller.agent, body.text)
    )
    return web.json_response({"conversation_id": conversation_id}, status=201)


@routes.get("/api/visitors/{visitor_id}/conversations")
async def visitor_conversations(request: web.Request) -> web.Response:
    await require_agent(request)
    limit = int_query(request, "limit", 10, 1, 100) or 10
    before = int_query(request, "before_id", None, 1, 2**62)
    return web.json_response(
        await services(request).desk.visitor_conversations(
            request.match_info["visitor_id"][:64], limit, before
        )
    )


# -- canned responses and follow-ups -------------------------------------------------


@routes.get("/api/canned-responses")
async def list_canned(request: web.Request) -> web.Response:
    await require_agent(request)
    return web.json_response({"canned_responses": await services(request).desk.canned()})


@routes.post("/api/canned-responses")
async def add_canned(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    body = await parse(request, protocol.CannedCreate)
    row = await handoff_call(
        services(request).desk.add_canned(caller.agent, body.shortcut, body.text)
    )
    return web.json_response({"canned_response": row}, status=201)


@routes.delete("/api/canned-responses/{id}")
async def delete_canned(request: web.Request) -> web.Response:
    await require_agent(request)
    await handoff_call(services(request).desk.delete_canned(int_param(request, "id")))
    return web.Response(status=204)


@routes.get("/api/followups")
async def list_followups(request: web.Request) -> web.Response:
    await require_agent(request)
    status = request.query.get("status", "open")
    if status not in ("open", "done"):
        raise json_error(web.HTTPBadRequest, "invalid", "status must be open or done")
    return web.json_response({"followups": await services(request).desk.followups(status)})


@routes.post("/api/followups/{id}/done")
async def followup_done(request: web.Request) -> web.Response:
    caller = await require_agent(request)
    row = await handoff_call(
        services(request).desk.followup_done(int_param(request, "id"), caller.agent)
    )
    return web.json_response({"followup": row})
