"""The analytics API (admins, marketers, the operator token): the dashboard's
summary and breakdown tables, as JSON or CSV. Thin: parse, authorise, call
AnalyticsService. Contract: docs/analytics.md, "Dashboard API"."""

from __future__ import annotations

import csv
import io

from aiohttp import web
from pydantic import ValidationError

from chat_server.http.auth import require_analytics
from chat_server.http.errors import json_error
from chat_server.http.keys import SERVICES, SETTINGS
from chat_server.protocol.analytics import AnalyticsQuery
from chat_server.services.analytics import TABLES, UnknownTable, Window

routes = web.RouteTableDef()


async def window_of(request: web.Request) -> Window:
    """The query string as a Window, or a 400 naming the bad parameter (404: no such segment)."""
    try:
        query = AnalyticsQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "query"
        raise json_error(web.HTTPBadRequest, "invalid", f"{where}: {first['msg']}") from None
    start, end = query.bounds()
    members = None
    if query.segment_id is not None:
        members = await request.app[SERVICES].segments.members_query(query.segment_id)
    return Window(
        start,
        end,
        query.segment,
        query.utm_source,
        query.page,
        query.attribution_days or request.app[SETTINGS].attribution_window_days,
        members,
    )


@routes.get("/api/analytics/summary")
async def summary(request: web.Request) -> web.Response:
    await require_analytics(request)
    window = await window_of(request)
    return web.json_response(await request.app[SERVICES].analytics.summary(window))


@routes.get("/api/analytics/tables/{name}")
async def table(request: web.Request) -> web.StreamResponse:
    await require_analytics(request)
    name = request.match_info["name"]
    as_csv = name.endswith(".csv")
    name = name.removesuffix(".csv")
    window = await window_of(request)
    try:
        columns, rows = await request.app[SERVICES].analytics.table(name, window)
    except UnknownTable:
        raise json_error(
            web.HTTPNotFound, "not_found", f"no table {name!r}; tables: {', '.join(TABLES)}"
        ) from None
    if not as_csv:
        return web.json_response({"name": name, "columns": columns, "rows": rows})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    writer.writerows([[_safe_cell(v) for v in row] for row in rows])
    stamp = f"{window.start:%Y%m%d}-{window.end:%Y%m%d}"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="rapport-{name}-{stamp}.csv"'},
    )


def _safe_cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
