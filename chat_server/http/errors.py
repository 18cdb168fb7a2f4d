"""JSON error responses: ``{"error": <code>, "message": <text>}``."""

from __future__ import annotations

import json

from aiohttp import web


def json_error(
    status: type[web.HTTPException], code: str, message: str
) -> web.HTTPException:
    return status(
        text=json.dumps({"error": code, "message": message}), content_type="application/json"
    )
