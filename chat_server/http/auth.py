"""Who is calling: agent session cookies, agent API tokens, the operator's token.

State-changing requests authenticated by the cookie must repeat the
session's CSRF token in ``X-CSRF-Token`` (the cookie is ``SameSite=Strict``
as well; the header makes a forged cross-site form useless even in a browser
that ignores SameSite). Bearer tokens are not sent by browsers on their own,
so they need no CSRF token.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from aiohttp import web

from chat_server.db.models import Agent
from chat_server.http.addresses import is_trusted
from chat_server.http.errors import json_error
from chat_server.http.keys import SERVICES, SETTINGS
from chat_server.protocol.agent import ROLE_ADMIN, ROLE_MARKETER
from chat_server.services.agents import AgentService, AuthError

SESSION_COOKIE = "rapport_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """An authenticated agent and how they proved it."""

    agent: Agent
    via: str  # "cookie" | "token"
    csrf_token: str | None = None
    session_token: str | None = None


def bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def cookie_value(cookie_header: str, name: str = SESSION_COOKIE) -> str | None:
    try:
        jar = SimpleCookie(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel and morsel.value else None


async def agent_from_credentials(
    agents: AgentService, token: str | None, session_cookie: str | None
) -> Caller:
    """Resolve an API token or a session cookie to the agent; raise AuthError."""
    if not (token or "").isascii() or not (session_cookie or "").isascii():
        # Ours are ASCII; anything else (a lone surrogate cannot even be hashed) is no credential.
        raise AuthError("invalid credentials")
    if token:
        return Caller(await agents.from_api_token(token), "token")
    if session_cookie:
        agent, csrf = await agents.from_session(session_cookie)
        return Caller(agent, "cookie", csrf, session_cookie)
    raise AuthError("not logged in")


def is_operator(request: web.Request) -> bool:
    """The request carries the operator's ADMIN_TOKEN."""
    configured = request.app[SETTINGS].admin_token
    given = bearer(request.headers.get("Authorization", ""))
    return bool(
        configured
        and given
        and hmac.compare_digest(given.encode(), configured.get_secret_value().encode())
    )


async def require_agent(
    request: web.Request, *, allow_password_change: bool = False, allow_marketer: bool = False
) -> Caller:
    """The calling agent, after checking CSRF for cookie sessions; raise 401/403.

    Marketers are refused unless ``allow_marketer``: they see analytics, never
    transcripts, so every conversation endpoint stays closed to them by default.
    """
    agents = request.app[SERVICES].agents
    token = bearer(request.headers.get("Authorization", ""))
    try:
        caller = await agent_from_credentials(agents, token, request.cookies.get(SESSION_COOKIE))
    except AuthError as exc:
        raise json_error(web.HTTPUnauthorized, "unauthenticated", str(exc)) from None
    if caller.via == "cookie" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not caller.csrf_token or not hmac.compare_digest(sent, caller.csrf_token):
            raise json_error(web.HTTPForbidden, "csrf", f"missing or wrong {CSRF_HEADER} header")
    if caller.agent.must_change_password and not allow_password_change:
        raise json_error(
            web.HTTPForbidden, "password_change_required", "change your one-time password first"
        )
    if caller.agent.role == ROLE_MARKETER and not allow_marketer:
        raise json_error(
            web.HTTPForbidden, "forbidden", "marketers see analytics, not conversations"
        )
    return caller


async def require_analytics(request: web.Request) -> Caller | None:
    """An admin or marketer, or the operator's token (None then); raise 401/403."""
    if is_operator(request):
        return None
    caller = await require_agent(request, allow_marketer=True)
    if caller.agent.role not in (ROLE_ADMIN, ROLE_MARKETER):
        raise json_error(web.HTTPForbidden, "forbidden", "analytics are for admins and marketers")
    return caller


async def require_admin(request: web.Request) -> Caller | None:
    """An admin agent, or the operator's token (None then); raise 401/403."""
    if is_operator(request):
        return None
    caller = await require_agent(request)
    if caller.agent.role != ROLE_ADMIN:
        raise json_error(web.HTTPForbidden, "forbidden", "admins only")
    return caller


def is_https(
    request: web.BaseRequest, trusted_proxies: Collection[str], public_url: str | None
) -> bool:
    """Whether the browser reached us over HTTPS.

    True when PUBLIC_URL is https (then always), when this connection is TLS,
    or when a trusted proxy (TRUSTED_PROXIES) says so in X-Forwarded-Proto.
    Anyone else's X-Forwarded-Proto is ignored: a client could claim anything.
    """
    if public_url and public_url.lower().startswith("https://"):
        return True
    if request.secure:
        return True
    if not is_trusted(request.remote or "", trusted_proxies):
        return False
    # The proxy next to us wrote the last value; earlier ones came from further out.
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    return proto == "https"


def _cookie_secure(request: web.Request) -> bool:
    settings = request.app[SETTINGS]
    return is_https(request, settings.trusted_proxy_set, settings.public_url)


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.agent_session_days * 86400,
        httponly=True,
        samesite="Strict",
        secure=_cookie_secure(request),
        path="/",
    )


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Expire the session cookie (with the attributes it was set with)."""
    response.del_cookie(
        SESSION_COOKIE, path="/", secure=_cookie_secure(request), httponly=True, samesite="Strict"
    )
