"""Public pages and health: the demo store, the widget bundle, the catalog."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from chat_server import metrics
from chat_server.http.auth import is_operator, require_admin
from chat_server.http.errors import json_error
from chat_server.http.keys import (
    CLUSTER_STATUS,
    ENGINE,
    PROXY_WARNING,
    RASA,
    SERVICES,
    SETTINGS,
)
from chat_server.services.health import check_health

routes = web.RouteTableDef()
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    # The campaign editor frames /campaigns/preview (the real widget, sandboxed).
    "frame-src 'self'"
)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Public liveness: the process serves requests. Says nothing else."""
    return web.json_response({"ok": True})


@routes.get("/healthz/details")
async def health_details(request: web.Request) -> web.Response:
    """State of database, Rasa and action server; 200 only when all are up.

    It names the database kind and the model, so only local callers (a
    supervisor, a container health check) or the operator's token see it.
    """
    if not (is_local(request) or is_operator(request)):
        raise json_error(
            web.HTTPForbidden, "forbidden", "Health details are for local callers or the operator."
        )
    cluster = request.app.get(CLUSTER_STATUS)
    state = await check_health(
        request.app[ENGINE], request.app[RASA], cluster() if cluster is not None else None
    )
    # Configuration the operator should fix; reported, never "unhealthy".
    state["warnings"] = request.app[PROXY_WARNING].warnings()
    return web.json_response(state, status=200 if state["ok"] else 503)


@routes.get("/api/system/warnings")
async def system_warnings(request: web.Request) -> web.Response:
    """Configuration warnings for the console's admins (e.g. TRUSTED_PROXIES)."""
    await require_admin(request)
    return web.json_response({"warnings": request.app[PROXY_WARNING].warnings()})


@routes.get("/metrics")
async def prometheus_metrics(request: web.Request) -> web.Response:
    """Prometheus text format, for local scrapers or the operator's token only
    (it reveals traffic, errors and staffing)."""
    if not (is_local(request) or is_operator(request)):
        raise json_error(
            web.HTTPForbidden, "forbidden", "Metrics are for local callers or the operator."
        )
    load = await request.app[SERVICES].signals.load()
    for namespace, count in load["connections"].items():
        metrics.CONNECTIONS.labels(namespace).set(count)
    metrics.QUEUE_LENGTH.set(load["queued"])
    metrics.AGENTS_ONLINE.set(load["agents_online"])
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def is_local(request: web.Request) -> bool:
    """A request from this machine that no proxy forwarded."""
    return request.remote in ("127.0.0.1", "::1") and "X-Forwarded-For" not in request.headers


@routes.get("/")
async def demo_store(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if not settings.serve_demo:
        raise web.HTTPFound("/console")
    return web.FileResponse(settings.demo_dir / "index.html")


@routes.get("/console")
async def console(request: web.Request) -> web.StreamResponse:
    path = request.app[SETTINGS].static_dir / "console.html"
    if not path.is_file():
        raise web.HTTPServiceUnavailable(
            text="The console is not built yet: run `npm run build` (make does it for you)."
        )
    return web.FileResponse(
        path,
        headers={
            "Cache-Control": "no-cache",
            # The console has no inline script or style: allow only our own files.
            "Content-Security-Policy": CONSOLE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


@routes.get("/widget.js")
async def widget_bundle(request: web.Request) -> web.StreamResponse:
    path = request.app[SETTINGS].static_dir / "widget.js"
    if not path.is_file():
        raise web.HTTPServiceUnavailable(
            text="widget.js is not built yet: run `npm run build` (make does it for you)."
        )
    response = web.FileResponse(
        path,
        headers={
            # Sites embed this from another origin; a short cache keeps updates quick.
            "Cache-Control": "public, max-age=300",
            "Access-Control-Allow-Origin": "*",
        },
    )
    return response


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.StreamResponse:
    """Browsers ask for it on every page; the pages also link /static/favicon.svg."""
    return web.FileResponse(
        request.app[SETTINGS].static_dir / "favicon.ico",
        headers={"Content-Type": "image/x-icon", "Cache-Control": "public, max-age=86400"},
    )


@routes.get("/catalog.json")
async def catalog(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(request.app[SETTINGS].catalog_path)
