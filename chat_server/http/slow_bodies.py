"""A deadline for request bodies: a client that sends its body slowly is cut off.

After the head (chat_server/http/connections.py), a slowloris variant sends
the body one byte at a time. Every request with a body waits here until the
whole body has arrived (bodies are at most 64 KiB, ``client_max_size``), for
at most ``HTTP_BODY_TIMEOUT_SECONDS``; then it gets 408 and the connection is
closed. Handlers (and Engine.IO's polling) then read a body that is there.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from chat_server import metrics


def body_deadline(seconds: float, max_size: int) -> Middleware:
    """Middleware: 408 when a request's body is not complete within ``seconds``
    (413 at once when it announces more than ``max_size`` bytes)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        content = request.content
        if (request.content_length or 0) > max_size:
            raise web.HTTPRequestEntityTooLarge(
                max_size,
                request.content_length or 0,
                text=json.dumps(
                    {
                        "error": "too_large",
                        "message": f"Request bodies are at most {max_size} bytes.",
                    }
                ),
                content_type="application/json",
            )
        if request.body_exists and not content.is_eof():
            arrived = asyncio.get_running_loop().create_future()

            def complete() -> None:
                if not arrived.done():
                    arrived.set_result(None)

            content.on_eof(complete)
            try:
                async with asyncio.timeout(seconds):
                    await arrived
            except TimeoutError:
                metrics.RATE_LIMITED.labels("http_body_timeout").inc()
                response = web.json_response(
                    {
                        "error": "request_timeout",
                        "message": f"The request body did not arrive within {seconds:g} s.",
                    },
                    status=408,
                )
                response.force_close()  # the rest of the body is never read
                return response
        return await handler(request)

    return middleware
