"""``GET /api/openapi.json``: the OpenAPI 3.1 description of the REST API.

Request bodies and query parameters come from the same definitions the views
validate with (pydantic models in chat_server/protocol/, the integer query
parameters in protocol/queries.py, the id formats in protocol/ids.py), so the
document cannot drift from what the server accepts. A test checks that every
/api route is described and valid, and tests/integration/test_api_schema.py
that no request the document calls valid is refused (schemathesis).

Why one file over 400 lines: most of it is the route table, one line per /api
route, kept as one list so a route without a description fails a test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from chat_server.db.paging import MAX_CURSOR_CHARS
from chat_server.http.campaign_results_api import PlanRequest
from chat_server.http.keys import SETTINGS
from chat_server.protocol import agent as protocol
from chat_server.protocol import queries
from chat_server.protocol.analytics import AnalyticsQuery
from chat_server.protocol.conversions import ConversionReport
from chat_server.protocol.ids import ROW_ID_SCHEMA, VISITOR_ID_SCHEMA
from chat_server.services.analytics import TABLES
from chat_server.services.campaigns.rules import CampaignDraft, CampaignPatch
from chat_server.services.campaigns.service import STATUSES
from chat_server.services.experiments.uplift import MODES
from chat_server.services.segments.filter import SegmentCreate, SegmentPreview, SegmentUpdate

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
    (
        "post",
        "/api/me/sign-out-everywhere",
        "End every session and the API token of the caller",
        None,
        204,
    ),
    (
        "post",
        "/api/agents/{id}/sign-out-everywhere",
        "End every session and the API token of an agent (admins)",
        None,
        204,
    ),
    (
        "post",
        "/api/agents/{id}/password",
        "Set a one-time password; ends every session and the token (admins)",
        protocol.PasswordReset,
        204,
    ),
    (
        "post",
        "/api/agents/{id}/deactivate",
        "Deactivate: sign-in refused, everything revoked, chats requeued (admins)",
        None,
        200,
    ),
    ("post", "/api/agents/{id}/reactivate", "Allow sign-in again (admins)", None, 200),
    ("get", "/api/agents", "Agents by name with status and load, a page", None, 200),
    ("post", "/api/agents", "Create an agent (admins)", protocol.AgentCreate, 201),
    ("get", "/api/conversations", "A page of a view, in its order, with live counts", None, 200),
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
    ("get", "/api/followups", "Messages left for a reply, newest first, a page", None, 200),
    ("post", "/api/followups/{id}/done", "Mark a follow-up answered", None, 200),
    ("get", "/api/visitors/live", "Visitors on the site now, a page", None, 200),
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
    (
        "get",
        "/api/campaigns/{id}/results",
        "A campaign's experiment: per-arm counts, guardrails, daily series and the analysis "
        "(admins, marketers)",
        None,
        200,
    ),
    (
        "get",
        "/api/campaigns/{id}/results.csv",
        "The per-arm results table as CSV (admins, marketers)",
        None,
        200,
    ),
    (
        "post",
        "/api/campaigns/plan",
        "Sample size and duration of an experiment before launch; feasible=false with a "
        "message when the values cannot go together (admins, marketers)",
        PlanRequest,
        200,
    ),
    ("get", "/api/webhooks", "Webhook endpoints with delivery counts (admins)", None, 200),
    (
        "post",
        "/api/webhooks",
        "Add a webhook; the secret is shown once (admins)",
        protocol.WebhookCreate,
        201,
    ),
    (
        "patch",
        "/api/webhooks/{id}",
        "Enable, disable or change topics (admins)",
        protocol.WebhookUpdate,
        200,
    ),
    ("delete", "/api/webhooks/{id}", "Delete a webhook and its log (admins)", None, 204),
    ("get", "/api/webhooks/{id}/deliveries", "The delivery log, newest first (admins)", None, 200),
    ("post", "/api/webhooks/{id}/test", "Queue a ping delivery (admins)", None, 202),
    (
        "get",
        "/api/dev/mail",
        "Mail caught by the development mail catcher, newest first (admins; 404 unless "
        "DEV_MAIL_CATCHER_PORT is set, as by make run)",
        None,
        200,
    ),
    (
        "get",
        "/api/campaigns",
        "Campaigns, newest first, a page; ?status= filters (admins, marketers)",
        None,
        200,
    ),
    (
        "post",
        "/api/campaigns",
        "Create a draft campaign. Beyond this schema: variant weights add up to 1, a "
        "conversion goal is one of CONVERSION_GOALS, globs and regexes compile, the segment "
        "and agent exist; each refusal is a 400 with field-level errors (docs/campaigns.md)",
        CampaignDraft,
        201,
    ),
    (
        "post",
        "/api/campaigns/validate",
        "Check a campaign as if it started now: {ok, errors: [{field, message}]}; nothing stored",
        CampaignDraft,
        200,
    ),
    (
        "get",
        "/api/campaigns/{id}",
        "One campaign (admins, marketers); agents get its name, kind, version and variant keys",
        None,
        200,
    ),
    (
        "patch",
        "/api/campaigns/{id}",
        "Change a campaign; once started only name, priority, rules and variant content "
        "(a changed design is a 409: create a new version)",
        CampaignPatch,
        200,
    ),
    (
        "delete",
        "/api/campaigns/{id}",
        "Delete a draft that never ran (anything else is a 409: archive it)",
        None,
        204,
    ),
    ("post", "/api/campaigns/{id}/start", "Start (or schedule) a campaign", None, 200),
    ("post", "/api/campaigns/{id}/pause", "Pause a running or scheduled campaign", None, 200),
    ("post", "/api/campaigns/{id}/end", "End a campaign; its results stay readable", None, 200),
    (
        "post",
        "/api/campaigns/{id}/archive",
        "Archive a campaign (a live one is ended first)",
        None,
        200,
    ),
    (
        "post",
        "/api/campaigns/{id}/versions",
        "A new draft version copying the campaign; starting it ends this one",
        None,
        201,
    ),
    (
        "get",
        "/api/system/warnings",
        "Configuration warnings, e.g. an untrusted proxy (admins)",
        None,
        200,
    ),
    (
        "post",
        "/api/conversions",
        "Report a conversion your backend vouches for: verified revenue, counted once per "
        "conversion_id (bearer CONVERSIONS_API_TOKEN or ADMIN_TOKEN; 200 when already counted)",
        ConversionReport,
        201,
    ),
    (
        "get",
        "/api/segments/fields",
        "The fields and operators a segment filter may use (admins, marketers)",
        None,
        200,
    ),
    (
        "post",
        "/api/segments/preview",
        "How many visitors match a filter now (admins, marketers)",
        SegmentPreview,
        200,
    ),
    ("get", "/api/segments", "Saved segments by name (admins, marketers)", None, 200),
    ("post", "/api/segments", "Save a segment (admins, marketers)", SegmentCreate, 201),
    ("get", "/api/segments/{id}", "A segment and its size now (admins, marketers)", None, 200),
    (
        "patch",
        "/api/segments/{id}",
        "Rename, describe or change the filter of a segment (admins, marketers)",
        SegmentUpdate,
        200,
    ),
    (
        "delete",
        "/api/segments/{id}",
        "Archive a segment; 409 while a campaign that is not archived uses it",
        None,
        200,
    ),
    ("get", "/api/openapi.json", "This document", None, 200),
]

# Success answers besides the operation's own status.
OTHER_SUCCESS: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/api/conversions"): {"200": "Already counted (the same conversion_id)"},
}

# Operations authenticated by a bearer token only (no agent session).
TOKEN_ONLY = frozenset({"/api/conversions"})


def model_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Query parameters from the pydantic model the view validates the query with."""
    schema = model.model_json_schema(by_alias=True)
    out = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
        if options:
            prop.update(options[0])
        description = prop.pop("description", None)
        prop.pop("title", None)
        if prop.get("default", 0) is None:
            del prop["default"]
        parameter: dict[str, Any] = {"name": name, "in": "query", "schema": prop}
        if description:
            parameter["description"] = description
        out.append(parameter)
    return out


CURSOR = {
    "name": "cursor",
    "in": "query",
    "description": "the previous page's next_cursor, passed back unchanged (docs/agent-api.md, "
    '"Paging"); only a cursor this list gave out is accepted: another list\'s, or a '
    "made-up one, is a 400",
    "schema": {"type": "string", "maxLength": MAX_CURSOR_CHARS},
}

RESULTS_MODE = {
    "name": "mode",
    "in": "query",
    "description": "sequential (anytime-valid, the default) or fixed-horizon intervals "
    "(docs/experiments.md)",
    "schema": {"type": "string", "enum": list(MODES), "default": "sequential"},
}

QUERY_PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "/api/conversations": [
        {"name": "view", "in": "query", "schema": {"type": "string", "enum": list(protocol.VIEWS)}},
        queries.CONVERSATIONS_LIMIT.parameter(),
        CURSOR,
        queries.BEFORE_ID.parameter(),
    ],
    "/api/conversations/{id}/messages": [
        queries.MESSAGES_LIMIT.parameter(),
        queries.BEFORE_ID.parameter(),
        queries.AFTER_ID.parameter(),
        queries.AFTER_SEQ.parameter(),
    ],
    "/api/followups": [
        {
            "name": "status",
            "in": "query",
            "schema": {"type": "string", "enum": list(queries.FOLLOWUP_STATUSES)},
        },
        queries.FOLLOWUPS_LIMIT.parameter(),
        CURSOR,
    ],
    "/api/agents": [queries.AGENTS_LIMIT.parameter(), CURSOR],
    "/api/canned-responses": [queries.CONVERSATION_ID.parameter()],
    "/api/visitors/live": [queries.LIVE_VISITORS_LIMIT.parameter(), CURSOR],
    "/api/visitors/{visitor_id}/conversations": [
        queries.VISITOR_CONVERSATIONS_LIMIT.parameter(),
        CURSOR,
        queries.BEFORE_ID.parameter(),
    ],
    "/api/webhooks/{id}/deliveries": [queries.DELIVERIES_LIMIT.parameter(), CURSOR],
    "/api/segments": [
        {
            "name": "archived",
            "in": "query",
            "description": "include archived segments",
            "schema": {"type": "boolean"},
        }
    ],
    "/api/campaigns": [
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
        queries.CAMPAIGNS_LIMIT.parameter(),
        CURSOR,
    ],
    "/api/analytics/summary": model_parameters(AnalyticsQuery),
    "/api/analytics/tables/{name}": model_parameters(AnalyticsQuery),
    "/api/campaigns/{id}/results": [RESULTS_MODE],
    "/api/campaigns/{id}/results.csv": [RESULTS_MODE],
}

# Paths whose visitor id the view checks (http/api.py); the others look it up as given.
CHECKED_VISITOR_IDS = frozenset({"/api/visitors/{visitor_id}/export", "/api/visitors/{visitor_id}"})

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}


def _path_schema(path: str, name: str) -> dict[str, Any]:
    if name == "id" and not path.startswith(("/api/webhooks/", "/api/campaigns/")):
        return ROW_ID_SCHEMA  # http/agent_api.py int_param
    if name == "id":
        return {"type": "integer", "minimum": 0, "maximum": 999_999_999}  # webhooks, campaigns
    if name == "visitor_id" and path in CHECKED_VISITOR_IDS:
        return VISITOR_ID_SCHEMA
    if name == "name":  # /api/analytics/tables/{name}: another name is a 404
        return {"type": "string", "enum": [*TABLES, *(f"{t}.csv" for t in TABLES)]}
    return {"type": "string"}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    out = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            out.append(
                {"name": name, "in": "path", "required": True, "schema": _path_schema(path, name)}
            )
    return out


def document(conversion_goals: Iterable[str] | None = None) -> dict[str, Any]:
    """The OpenAPI document; ``conversion_goals``, this site's CONVERSION_GOALS."""
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
        for other, description in OTHER_SUCCESS.get((method, path), {}).items():
            operation["responses"][other] = {"description": description}
        parameters = _path_parameters(path) + (
            QUERY_PARAMETERS.get(path, []) if method == "get" else []
        )
        if parameters:
            operation["parameters"] = parameters
        if body is not None:
            schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            if body is ConversionReport and conversion_goals is not None:
                # Another goal is a 400 unknown_goal: the site's own list, stated.
                schema["properties"]["goal"]["enum"] = sorted(conversion_goals)
            schemas[body.__name__] = schema
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{body.__name__}"}
                    }
                },
            }
        if path in TOKEN_ONLY:
            operation["security"] = [{"token": []}]
        elif path not in ("/api/auth/login", "/api/openapi.json"):
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
    return web.json_response(document(request.app[SETTINGS].conversion_goal_set))
