"""Security headers on every response, and no build artefacts or banners leaking.

Pages get a Content Security Policy without inline script, and may not be
framed by other sites; every response gets nosniff and a Referrer-Policy,
and the Server header names no versions. Source maps and dotfiles are not
served under any spelling of their path (see :func:`hidden_path`).
"""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web
from aiohttp.typedefs import Handler

# The demo store and any other page: our own scripts only. Styles may be
# inline because the widget injects its stylesheet into the page.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self'"
)


# A dotted first segment that public clients may fetch (RFC 8615).
_WELL_KNOWN = ".well-known"
# Percent-decoding rounds before a path is judged: "%252e" is "%2e" is ".".
_DECODE_ROUNDS = 4


def hidden_path(raw_path: str) -> bool:
    """Whether a request path names a file that is never served.

    Source maps (they publish the unminified code and its paths) and every
    dotfile or dot-directory (``.env``, ``.git/``, and ``.``/``..`` segments)
    are refused however the path is spelled: percent-encoded (even twice),
    with backslashes, doubled or trailing slashes, any letter case, trailing
    dots, spaces or NUL bytes. The path is judged after decoding, the way a
    file system or a later normaliser would read it, never before.
    """
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(path, errors="replace")
        if decoded == path:
            break
        path = decoded
    else:
        return True  # still encoded after several rounds: nobody needs that
    if "\x00" in path:
        return True
    segments = [s for s in path.replace("\\", "/").lower().split("/") if s]
    for index, segment in enumerate(segments):
        if segment.startswith(".") and not (index == 0 and segment == _WELL_KNOWN):
            return True
        if segment.rstrip(". \t;").endswith(".map"):
            return True
    return False


@web.middleware
async def no_hidden_files(request: web.Request, handler: Handler) -> web.StreamResponse:
    if hidden_path(request.raw_path):
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
    app.middlewares.append(no_hidden_files)
    app.on_response_prepare.append(add_security_headers)
