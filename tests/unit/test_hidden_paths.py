"""hidden_path: which request paths name files that are never served."""

from __future__ import annotations

import pytest

from chat_server.http.headers import hidden_path


@pytest.mark.parametrize(
    "path",
    [
        "/static/widget.js.map",
        "/static/widget.js.map/",
        "/static/widget.js.map%2F",
        "/static/widget.js.MAP",
        "/static/widget.js.map.",
        "/static/widget.js.map%00",
        "/static/widget.js%252emap",
        "/static\\widget.js.map",
        "/static/.env",
        "/static/%2eenv",
        "/static/%252eenv",
        "/static/./x.js",
        "/static/%2e%2e/static/widget.js",
        "/static/sub%5c..%5cwidget.js",
        "/.git/config",
        "/static/.git%2fconfig",
        "/static/%25252525252eenv",  # encoded more times than anyone needs
    ],
)
def test_hidden(path: str) -> None:
    assert hidden_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/static/widget.js",
        "/static/widget.js?v=1.map",
        "/socket.io/?EIO=4&transport=polling&t=.map",
        "/api/visitors/0123456789abcdef0123456789abcdef/export",
        "/.well-known/security.txt",
        "/static/maps/world.png",
        "/static/sitemap.xml",
    ],
)
def test_served(path: str) -> None:
    assert not hidden_path(path)
