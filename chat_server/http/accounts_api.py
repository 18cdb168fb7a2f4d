"""Sign-in, sign-out and account control under /api (docs/agent-api.md).

Parse, authenticate, call a service. The throttling order of a sign-in:
the address's failures (generous; successes are not counted), the address
and name pair, then the name's own growing delay across every address
(services/login_throttle.py); only then is the password checked.
"""

from __future__ import annotations

from aiohttp import web

from chat_server.http.addresses import client_address, limit_key
from chat_server.http.agent_api import int_param, map_service_errors, parse, services
from chat_server.http.auth import (
    SESSION_COOKIE,
    clear_session_cookie,
    require_admin,
    require_agent,
    set_session_cookie,
)
from chat_server.http.errors import json_error, too_many_requests
from chat_server.http.keys import SETTINGS
from chat_server.protocol import agent as protocol
from chat_server.services import ratelimit
from chat_server.services.agents import AuthError, Deactivated, LastAdmin
from chat_server.services.login_throttle import Throttled
from chat_server.services.ratelimit import RateLimited
from chat_server.services.serialize import agent_json

routes = web.RouteTableDef()

THROTTLED = "Too many sign-in attempts. Please wait and try again."


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    body = await parse(request, protocol.LoginBody)
    svc = services(request)
    limits = svc.limits
    address = limit_key(client_address(request, request.app[SETTINGS].trusted_proxy_set))
    attempt = f"{address}|{body.username.lower()}"
    try:
        await limits.check(ratelimit.LOGIN_FAILURES_PER_IP, address)
        await limits.hit(ratelimit.LOGINS, attempt)
        # Counted as a failure until the password proves right (then cleared).
        await svc.login_throttle.attempt(body.username)
    except (RateLimited, Throttled) as exc:
        raise too_many_requests(THROTTLED, exc.retry_after) from None
    try:
        session = await svc.agents.login(body.username, body.password)
    except Deactivated as exc:
        # The right password: not a guess.
        await svc.login_throttle.succeeded(body.username)
        raise json_error(web.HTTPForbidden, "deactivated", str(exc)) from None
    except AuthError as exc:
        # Known and unknown names are counted alike: the same answers, the same delays.
        await limits.allows(ratelimit.LOGIN_FAILURES_PER_IP, address)
        raise json_error(web.HTTPUnauthorized, "unauthenticated", str(exc)) from None
    await svc.login_throttle.succeeded(body.username)
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
        await services(request).accounts.logout(caller.agent.id, caller.session_token)
    response = web.Response(status=204)
    clear_session_cookie(request, response)
    return response


@routes.post("/api/me/sign-out-everywhere")
async def sign_out_everywhere(request: web.Request) -> web.Response:
    caller = await require_agent(request, allow_password_change=True, allow_marketer=True)
    await services(request).accounts.sign_out_everywhere(caller.agent.id)
    response = web.Response(status=204)
    if request.cookies.get(SESSION_COOKIE):
        clear_session_cookie(request, response)
    return response


@routes.post("/api/me/password")
async def change_password(request: web.Request) -> web.Response:
    caller = await require_agent(request, allow_password_change=True, allow_marketer=True)
    body = await parse(request, protocol.PasswordChange)
    try:
        await services(request).accounts.change_password(
            caller.agent.id, body.current_password, body.new_password, caller.session_token
        )
    except AuthError as exc:
        raise json_error(web.HTTPForbidden, "forbidden", str(exc)) from None
    return web.Response(status=204)


# -- admins ------------------------------------------------------------------------


async def _target(request: web.Request) -> int:
    """The agent id in the path, after checking the caller is an admin (or the operator)."""
    await require_admin(request)
    agent_id = int_param(request, "id")
    try:
        await services(request).agents.exists(agent_id)
    except AuthError:
        raise json_error(web.HTTPNotFound, "not_found", "no such agent") from None
    return agent_id


@routes.post("/api/agents/{id}/sign-out-everywhere")
async def admin_sign_out(request: web.Request) -> web.Response:
    agent_id = await _target(request)
    await services(request).accounts.sign_out_everywhere(agent_id)
    return web.Response(status=204)


@routes.post("/api/agents/{id}/password")
async def admin_reset_password(request: web.Request) -> web.Response:
    agent_id = await _target(request)
    body = await parse(request, protocol.PasswordReset)
    await services(request).accounts.reset_password(agent_id, body.password)
    return web.Response(status=204)


@routes.post("/api/agents/{id}/deactivate")
async def deactivate(request: web.Request) -> web.Response:
    agent_id = await _target(request)
    svc = services(request)
    try:
        requeued = await svc.accounts.deactivate(agent_id)
    except LastAdmin as exc:
        raise json_error(web.HTTPConflict, "last_admin", str(exc)) from None
    agent = await map_service_errors(svc.desk.agent(agent_id))
    return web.json_response({"agent": agent, "requeued": requeued})


@routes.post("/api/agents/{id}/reactivate")
async def reactivate(request: web.Request) -> web.Response:
    agent_id = await _target(request)
    svc = services(request)
    await svc.accounts.reactivate(agent_id)
    return web.json_response({"agent": await map_service_errors(svc.desk.agent(agent_id))})
