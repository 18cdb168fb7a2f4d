"""`POST /api/conversions`: the server-to-server conversion API (docs/tracking.md).

The site's backend reports a conversion it vouches for, so its value counts
as verified revenue. Authentication: ``Authorization: Bearer
<CONVERSIONS_API_TOKEN>`` (a token that can do nothing else), or the
operator's ADMIN_TOKEN. Thin: parse, authenticate, call TrackingService.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from chat_server.http.agent_api import parse
from chat_server.http.auth import bearer, is_operator
from chat_server.http.errors import json_error
from chat_server.http.keys import SERVICES, SETTINGS
from chat_server.protocol.conversions import ConversionReport
from chat_server.services.tracking import UnknownGoal, VerifiedConversion

routes = web.RouteTableDef()


def _authorised(request: web.Request) -> bool:
    configured = request.app[SETTINGS].conversions_api_token
    given = bearer(request.headers.get("Authorization", ""))
    mine = bool(
        configured
        and given
        and given.isascii()
        and hmac.compare_digest(given.encode(), configured.get_secret_value().encode())
    )
    return mine or is_operator(request)


@routes.post("/api/conversions")
async def report_conversion(request: web.Request) -> web.Response:
    """Record a verified conversion; 201 when counted now, 200 when already counted."""
    if not _authorised(request):
        raise json_error(
            web.HTTPUnauthorized,
            "unauthenticated",
            "send Authorization: Bearer <CONVERSIONS_API_TOKEN>",
        )
    report = await parse(request, ConversionReport)
    try:
        outcome, visitor_id = await request.app[SERVICES].tracking.verified_conversion(
            VerifiedConversion(
                report.conversion_id,
                report.goal,
                report.value,
                report.currency,
                report.customer_id,
                report.visitor_id,
            )
        )
    except UnknownGoal:
        raise json_error(
            web.HTTPBadRequest,
            "unknown_goal",
            f"'{report.goal}' is not a conversion goal of this site (CONVERSION_GOALS)",
        ) from None
    return web.json_response(
        {"ok": True, "outcome": outcome, "visitor_id": visitor_id, "verified": True},
        status=201 if outcome != "duplicate" else 200,
    )
