"""A page embedding the published rasa-webchat 1.0.1 (npm), for compatibility tests.

A small HTTP server on 127.0.0.1 (its own port, so its own origin) serves the
page and the npm bundle; the widget then talks cross-origin to the chat server
under test, as it would from a customer's site. (A page fulfilled by
Playwright's request routing under a made-up host counts as a public address
for Chromium, which then blocks its requests to a loopback chat server.)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from playwright.sync_api import Locator, Page

from dev.devstack import ROOT
from tests.support.origins import THIRD_PARTY_PORT

WEBCHAT_JS = ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"

# rasa-webchat's own class names (its DOM is not in a shadow root).
MESSAGES = "#rw-messages"
BOT_TEXT = f"{MESSAGES} .rw-response"
CLIENT_TEXT = f"{MESSAGES} .rw-client"
QUICK_REPLY = f"{MESSAGES} .rw-replies .rw-reply"
INPUT = ".rw-new-message"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rasa-webchat compatibility</title></head>
<body>
<div id="webchat"></div>
<script src="webchat.js"></script>
<script>
  window.WebChat.default(Object.assign(%s, {
    // Show every message as soon as it arrives (the default waits 0.8-3 s each).
    customMessageDelay: function () { return 0; },
  }), document.getElementById("webchat"));
</script>
</body></html>
"""


def webchat_props(socket_url: str, **extra: Any) -> dict[str, Any]:
    """The documented init props: the chat server as socketUrl, default socket path."""
    props: dict[str, Any] = {
        "socketUrl": socket_url,
        "socketPath": "/socket.io/",
        "title": "Trailhead Outfitters",
        "initPayload": "/greet",
        "customData": {"language": "en"},
        "embedded": True,  # always open: initPayload goes out at once
        "params": {"storage": "session"},
    }
    props.update(extra)
    return props


@contextmanager
def webchat_site(socket_url: str, **extra: Any) -> Iterator[str]:
    """Serve a page embedding rasa-webchat pointed at `socket_url`; yields its URL."""
    if not WEBCHAT_JS.exists():
        raise FileNotFoundError(f"{WEBCHAT_JS} is missing: run `npm ci`")
    page = PAGE % json.dumps(webchat_props(socket_url, **extra))
    files = {
        "/": ("text/html; charset=utf-8", page.encode()),
        "/webchat.js": ("application/javascript", WEBCHAT_JS.read_bytes()),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = files.get(self.path.split("?")[0])
            if found is None:
                self.send_error(404)
                return
            content_type, body = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    # The live stack allows this origin (ALLOWED_ORIGINS): the site embedding the widget.
    server = ThreadingHTTPServer(("127.0.0.1", THIRD_PARTY_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def bot_texts(page: Page) -> Locator:
    """Every bot/agent text bubble rasa-webchat rendered."""
    return page.locator(BOT_TEXT)


def send(page: Page, text: str) -> None:
    box = page.locator(INPUT)
    box.fill(text)
    box.press("Enter")
