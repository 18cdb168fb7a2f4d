"""``GET /api/openapi.json``: the OpenAPI 3.1 description of the REST API.

Request bodies come from the same pydantic models the views validate with
(chat_server/protocol/agent.py), so the document cannot drift from what the
server accepts; a test checks that every /api route is described and valid.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from chat_server.protocol import agent as protocol
from chat_server.protocol.analytics import SEGMENTS

routes = web.RouteTableDef()

# (method, path, summary, request body model, success status)
OPERATIONS: list[tuple[str, str, str, type[BaseModel] | None, int]] = [
    (
        "post",
        "/api/auth/login",
        "Log in; sets the session cookie, returns the CSRF token",
        protocol.LoginBody,
        200,
    ),
    ("post", "/api/auth/logout", "Log out (revokes the session)", None, 204),
    ("get", "/api/me", "The calling agent and the session's CSRF token", None, 200),
    (
        "patch",
        "/api/me",
        "Change status, notification mode or display name",
        protocol.MeUpdate,
        200,
    ),
    ("post", "/api/me/password", "Change the password", protocol.PasswordChange, 204),
    ("post", "/api/me/token", "Issue a new API token (shown once)", None, 200),
    ("get", "/api/agents", "All agents with status and load", None, 200),
    ("post", "/api/agents", "Create an agent (admins)", protocol.AgentCreate, 201),
    ("get", "/api/conversations", "Conversations of a view, with live counts", None, 200),
    ("get", "/api/conversations/{id}", "Conversation, visitor panel and context", None, 200),
    ("get", "/api/conversations/{id}/messages", "Transcript page (notes included)", None, 200),
    (
        "post",
        "/api/conversations/{id}/messages",
        "Reply to the visitor, or add an internal note",
        protocol.SendBody,
        201,
    ),
    (
        "post",
        "/api/conversations/{id}/accept",
        "Take from the queue, or barge in on the bot",
        None,
        200,
    ),
    (
        "post",
        "/api/conversations/{id}/transfer",
        "Transfer to another agent",
        protocol.TransferBody,
        200,
    ),
    (
        "post",
        "/api/conversations/{id}/resolve",
        "Resolve (the visitor is asked to rate)",
        None,
        200,
    ),
    (
        "post",
        "/api/conversations/{id}/handback",
        "Hand back to the bot without resolving",
        None,
        200,
    ),
    ("post", "/api/conversations/{id}/read", "Mark the visitor's messages read", None, 204),
    (
        "get",
        "/api/visitors/{visitor_id}/conversations",
        "A visitor's earlier conversations",
        None,
        200,
    ),
    (
        "get",
        "/api/visitors/{visitor_id}/export",
        "Everything stored about a visitor (admins)",
        None,
        200,
    ),
    (
        "delete",
        "/api/visitors/{visitor_id}",
        "Erase a visitor from both stores (admins)",
        None,
        200,
    ),
    ("get", "/api/canned-responses", "Canned responses", None, 200),
    ("post", "/api/canned-responses", "Add a canned response", protocol.CannedCreate, 201),
    ("delete", "/api/canned-responses/{id}", "Delete a canned response", None, 204),
    ("get", "/api/followups", "Messages left while nobody was online", None, 200),
    ("post", "/api/followups/{id}/done", "Mark a follow-up answered", None, 200),
    ("get", "/api/visitors/live", "Visitors on the site now (this server)", None, 200),
    (
        "post",
        "/api/visitors/{visitor_id}/conversation",
        "Start (or join) a chat with a live visitor: barge-in + first message",
        protocol.StartChatBody,
        201,
    ),
    ("get", "/api/analytics/summary", "KPIs, series and funnel (admins, marketers)", None, 200),
    (
        "get",
        "/api/analytics/tables/{name}",
        "A breakdown table as JSON, or CSV with a .csv suffix (admins, marketers)",
        None,
        200,
    ),
    ("get", "/api/webhooks", "Webhook endpoints with delivery counts (admins)", None, 200),
    ("post", "/api/webhooks", "Add a webhook; the secret is shown once (admins)",
     protocol.WebhookCreate, 201),
    ("patch", "/api/webhooks/{id}", "Enable, disable or change topics (admins)",
     protocol.WebhookUpdate, 200),
    ("delete", "/api/webhooks/{id}", "Delete a webhook and its log (admins)", None, 204),
    ("get", "/api/webhooks/{id}/deliveries", "The delivery log, newest first (admins)", None, 200),
    ("post", "/api/webhooks/{id}/test", "Queue a ping delivery (admins)", None, 202),
    ("get", "/api/openapi.json", "This document", None, 200),
]

ANALYTICS_PARAMETERS: list[dict[str, Any]] = [
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    {
        "name": "segment",
        "in": "query",
        "schema": {"type": "string", "enum": list(SEGMENTS)},
    },
    {"name": "utm_source", "in": "query", "schema": {"type": "string", "maxLength": 100}},
    {"name": "page", "in": "query", "schema": {"type": "string", "maxLength": 500}},
    {
        "name": "attribution_days",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 365},
    },
]

QUERY_PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "/api/conversations": [
        {"name": "view", "in": "query", "schema": {"type": "string", "enum": list(protocol.VIEWS)}},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
        },
        {"name": "before_id", "in": "query", "schema": {"type": "integer"}},
    ],
    "/api/conversations/{id}/messages": [
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 500},
        },
        {"name": "before_id", "in": "query", "schema": {"type": "integer"}},
        {
            "name": "after_id",
            "in": "query",
            "description": "only messages newer than this id (a reconnecting client)",
            "schema": {"type": "integer", "minimum": 0},
        },
    ],
    "/api/followups": [
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "done"]}},
    ],
    "/api/analytics/summary": ANALYTICS_PARAMETERS,
    "/api/analytics/tables/{name}": ANALYTICS_PARAMETERS,
}

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    out = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            out.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer"} if name == "id" else {"type": "string"},
                }
            )
    return out


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, status in OPERATIONS:
        operation: dict[str, Any] = {
            "summary": summary,
            "operationId": method + "_" + re.sub(r"[^a-z0-9]+", "_", path[5:]).strip("_"),
            "responses": {
                str(status): {"description": "OK"},
                "default": {
                    "description": "Error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
        parameters = _path_parameters(path) + (
            QUERY_PARAMETERS.get(path, []) if method == "get" else []
        )
        if parameters:
            operation["parameters"] = parameters
        if body is not None:
            schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            schemas[body.__name__] = schema
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{body.__name__}"}
                    }
                },
            }
        if path not in ("/api/auth/login", "/api/openapi.json"):
            operation["security"] = [{"session": [], "csrf": []}, {"token": []}]
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rapport agent API",
            "version": "1",
            "description": "See docs/agent-api.md. Cookie sessions must send X-CSRF-Token "
            "on state-changing requests.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "rapport_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
                "token": {"type": "http", "scheme": "bearer"},
            },
        },
    }


@routes.get("/api/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(document())
