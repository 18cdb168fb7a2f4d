"""The pages behind the links in emails (double opt-in confirmation and
one-click unsubscribe), and the development mail catcher's list. Thin: parse,
call ConsentMail, render.

Opening a link only shows a page with a button; the change is a POST. Mail
scanners that fetch every link in a message (corporate gateways do) then
neither confirm nor unsubscribe anyone. The unsubscribe POST is also RFC
8058's one-click: mail clients POST ``List-Unsubscribe=One-Click`` to the
``List-Unsubscribe`` URL, token in the query.
"""

from __future__ import annotations

import html

from aiohttp import web

from chat_server.http.addresses import client_address
from chat_server.http.auth import require_admin
from chat_server.http.errors import json_error
from chat_server.http.keys import MAIL_CATCHER, SERVICES, SETTINGS
from chat_server.services.email.optin import Evidence, LinkExpired, LinkInvalid

routes = web.RouteTableDef()
MAX_TOKEN = 1000


def _page(title: str, body: str, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        content_type="text/html",
        text=(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title></head>"
            '<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;'
            f'padding:0 1rem;line-height:1.5;color:#1f2328">'
            f"<main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
        ),
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _token(request: web.Request) -> str:
    token = request.query.get("token", "")
    if not token or len(token) > MAX_TOKEN:
        raise LinkInvalid("this link is not valid")
    return token


def _evidence(request: web.Request) -> Evidence:
    return Evidence(
        address=client_address(request, request.app[SETTINGS].trusted_proxy_set),
        user_agent=request.headers.get("User-Agent"),
    )


def _button(action: str, token: str, label: str, color: str) -> str:
    return (
        f'<form method="post" action="{action}?token={html.escape(token)}">'
        f'<button type="submit" style="font:inherit;padding:.6rem 1.2rem;border:0;'
        f'border-radius:6px;background:{html.escape(color)};color:#fff">{html.escape(label)}'
        "</button></form>"
    )


def _bad_link(exc: Exception) -> web.Response:
    expired = isinstance(exc, LinkExpired)
    return _page(
        "This link has expired" if expired else "This link does not work",
        "<p>"
        + (
            "Confirmation links work for a limited time. Ask for the newsletter in the "
            "chat again and we will send a new one."
            if expired
            else "It may have been cut off by your email program. Try copying the whole link."
        )
        + "</p>",
        status=410 if expired else 400,
    )


@routes.get("/email/confirm")
async def confirm_page(request: web.Request) -> web.Response:
    mail = request.app[SERVICES].consent_mail
    try:
        token = _token(request)
        _, email = mail.read_confirm(token)
    except (LinkInvalid, LinkExpired) as exc:
        return _bad_link(exc)
    settings = request.app[SETTINGS]
    return _page(
        "Confirm your subscription",
        f"<p>Press the button to receive the {html.escape(settings.brand_name)} newsletter at "
        f"<strong>{html.escape(email)}</strong>. You can unsubscribe from any issue in one "
        "click.</p>"
        + _button("/email/confirm", token, "Confirm my subscription", settings.brand_color),
    )


@routes.post("/email/confirm")
async def confirm(request: web.Request) -> web.Response:
    mail = request.app[SERVICES].consent_mail
    try:
        email = await mail.confirm(_token(request), _evidence(request))
    except (LinkInvalid, LinkExpired) as exc:
        return _bad_link(exc)
    return _page(
        "You're subscribed",
        f"<p>Thank you: the newsletter will come to <strong>{html.escape(email)}</strong>.</p>",
    )


@routes.get("/email/unsubscribe")
async def unsubscribe_page(request: web.Request) -> web.Response:
    mail = request.app[SERVICES].consent_mail
    try:
        token = _token(request)
        _, email = mail.read_unsubscribe(token)
    except (LinkInvalid, LinkExpired) as exc:
        return _bad_link(exc)
    return _page(
        "Unsubscribe",
        f"<p>Stop sending the newsletter to <strong>{html.escape(email)}</strong>?</p>"
        + _button("/email/unsubscribe", token, "Unsubscribe", request.app[SETTINGS].brand_color),
    )


@routes.post("/email/unsubscribe")
async def unsubscribe(request: web.Request) -> web.Response:
    mail = request.app[SERVICES].consent_mail
    try:
        email = await mail.unsubscribe(_token(request), _evidence(request))
    except (LinkInvalid, LinkExpired) as exc:
        return _bad_link(exc)
    return _page(
        "You're unsubscribed",
        f"<p>Nothing more will be sent to <strong>{html.escape(email)}</strong>.</p>",
    )


@routes.get("/api/dev/mail")
async def caught_mail(request: web.Request) -> web.Response:
    """The development mail catcher's mail (admins; only with DEV_MAIL_CATCHER_PORT)."""
    catcher = request.app.get(MAIL_CATCHER)
    if catcher is None:
        raise json_error(web.HTTPNotFound, "not_found", "no mail catcher on this server")
    await require_admin(request)
    return web.json_response({"messages": catcher.messages()})
