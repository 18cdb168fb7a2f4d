"""Security headers on every response, and no build artefacts or banners leaking.

Pages get a Content Security Policy without inline script, and may not be
framed by other sites; every response gets nosniff and a Referrer-Policy,
and the Server header names no versions. Source maps are not served (they
would publish the unminified code and its paths).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

# The demo store and any other page: our own scripts only. Styles may be
# inline because the widget injects its stylesheet into the page.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self'"
)


@web.middleware
async def no_source_maps(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.endswith(".map"):
        raise web.HTTPNotFound()
    return await handler(request)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """aiohttp on_response_prepare hook."""
    headers = response.headers
    headers["Server"] = "Rapport"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", PAGE_CSP)
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")


def install(app: web.Application) -> None:
    app.middlewares.append(no_source_maps)
    app.on_response_prepare.append(add_security_headers)
