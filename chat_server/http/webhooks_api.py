"""Webhook endpoints and their delivery log (admins; docs/webhooks.md). Thin:
parse, authorise, call WebhookService."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web

from chat_server.http.agent_api import cursor_query, paged, parse, query_int
from chat_server.http.auth import require_admin
from chat_server.http.errors import json_error
from chat_server.http.keys import SERVICES
from chat_server.protocol import agent as protocol
from chat_server.protocol import queries
from chat_server.services.webhooks import WebhookRefused

routes = web.RouteTableDef()


def _endpoint_id(request: web.Request) -> int:
    value = request.match_info["id"]
    if not value.isdigit() or len(value) > 9:
        raise json_error(web.HTTPNotFound, "not_found", "no such webhook")
    return int(value)


T = TypeVar("T")


def _found(value: T | None) -> T:
    if value is None:
        raise json_error(web.HTTPNotFound, "not_found", "no such webhook")
    return value


@routes.get("/api/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    await require_admin(request)
    return web.json_response({"webhooks": await request.app[SERVICES].webhooks.endpoints()})


@routes.post("/api/webhooks")
async def create_webhook(request: web.Request) -> web.Response:
    caller = await require_admin(request)
    body = await parse(request, protocol.WebhookCreate)
    try:
        webhook, secret = await request.app[SERVICES].webhooks.create(
            body.url, list(body.topics), caller.agent.id if caller else None
        )
    except WebhookRefused as exc:
        raise json_error(web.HTTPBadRequest, "invalid", str(exc)) from None
    return web.json_response({"webhook": webhook, "secret": secret}, status=201)


@routes.patch("/api/webhooks/{id}")
async def update_webhook(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await parse(request, protocol.WebhookUpdate)
    webhook = await request.app[SERVICES].webhooks.update(
        _endpoint_id(request), body.enabled, list(body.topics) if body.topics else None
    )
    return web.json_response({"webhook": _found(webhook)})


@routes.delete("/api/webhooks/{id}")
async def delete_webhook(request: web.Request) -> web.Response:
    await require_admin(request)
    if not await request.app[SERVICES].webhooks.delete(_endpoint_id(request)):
        raise json_error(web.HTTPNotFound, "not_found", "no such webhook")
    return web.Response(status=204)


@routes.get("/api/webhooks/{id}/deliveries")
async def webhook_deliveries(request: web.Request) -> web.Response:
    await require_admin(request)
    limit = query_int(request, queries.DELIVERIES_LIMIT) or 50
    found = await paged(
        request.app[SERVICES].webhooks.deliveries(
            _endpoint_id(request), limit, cursor_query(request)
        )
    )
    rows, next_cursor = _found(found)
    return web.json_response({"deliveries": rows, "next_cursor": next_cursor})


@routes.post("/api/webhooks/{id}/test")
async def test_webhook(request: web.Request) -> web.Response:
    await require_admin(request)
    delivery = await request.app[SERVICES].webhooks.send_test(_endpoint_id(request))
    return web.json_response({"delivery": _found(delivery)}, status=202)
