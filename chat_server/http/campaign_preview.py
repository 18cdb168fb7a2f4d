"""``GET /campaigns/preview?c=<json>``: a campaign's opener in the real widget.

The console's campaign editor frames this page (sandboxed, same origin) to
show a variant as a visitor would see it: the demo store's page with
widget.js in preview mode (widget/src/preview.js: the UI only, no socket,
nothing stored). Admins and marketers only. The opener is reduced to the
fields the widget shows and embedded as JSON in a non-executed
``<script type="application/json">`` block, escaped so that no text can close
the block or become markup.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from chat_server.http.auth import require_analytics
from chat_server.http.errors import json_error
from chat_server.http.keys import SETTINGS

routes = web.RouteTableDef()

TEXT_MAX = 1000
TITLE_MAX = 80
CHOICES_MAX = 10
QUERY_MAX = 20_000
FALLBACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Campaign preview</title></head>
<body><main><h1>Campaign preview</h1><p>A page of your site.</p></main>
<script src="/widget.js" async></script></body></html>
"""


def _titles(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    out = [v[:TITLE_MAX] for v in value if isinstance(v, str) and v.strip()]
    return out[:CHOICES_MAX]


def preview_opener(raw: str) -> dict[str, Any]:
    """The opener to show from the query's JSON; ValueError when it is not one."""
    if len(raw) > QUERY_MAX:
        raise ValueError("the preview is too long")
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the preview is a JSON object")
    text = data.get("text") or data.get("question") or ""
    if not isinstance(text, str):
        raise ValueError("text is a string")
    return {
        "kind": data.get("kind") if data.get("kind") in ("bot", "agent", "nps") else "bot",
        "text": text[:TEXT_MAX] or "(no text yet)",
        "quick_replies": _titles(data.get("quick_replies")),
        "buttons": _titles(data.get("buttons")),
        "products": data.get("products") is True,
        "agent_name": name[:TITLE_MAX] if isinstance(name := data.get("agent_name"), str) else "",
    }


def embed(opener: dict[str, Any]) -> str:
    """JSON safe inside an HTML ``<script>`` element: no ``<``, ``>`` or ``&``."""
    text = json.dumps(opener, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def preview_page(template: str, opener: dict[str, Any]) -> str:
    """``template`` (the demo store's page) with the opener before widget.js and no store script."""
    block = f'<script type="application/json" id="rapport-preview">{embed(opener)}</script>\n'
    page = template.replace('<script src="/web/store.js" defer></script>', "")
    at = page.find('<script src="/widget.js"')
    if at < 0:
        at = page.rfind("</body>")
    return page[:at] + block + page[at:]


@routes.get("/campaigns/preview")
async def campaign_preview(request: web.Request) -> web.Response:
    await require_analytics(request)
    try:
        opener = preview_opener(request.query.get("c", "{}"))
    except ValueError as exc:
        raise json_error(web.HTTPBadRequest, "invalid", str(exc)) from None
    settings = request.app[SETTINGS]
    demo = settings.demo_dir / "index.html"
    template = demo.read_text() if settings.serve_demo and demo.is_file() else FALLBACK_PAGE
    return web.Response(
        text=preview_page(template, opener),
        content_type="text/html",
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
    )
