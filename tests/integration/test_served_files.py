"""Files that must not be served (source maps, dotfiles) stay unserved under
every spelling of their path.

The requests are written on a raw socket, byte for byte, so no client
normalises the path (collapses ``//``, decodes ``%2e``, drops ``./``) before
the server sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from tests.integration.conftest import start_server

SECRET = "SECRET-CONTENT-must-never-be-served"

# Every spelling of a source map or a dotfile under /static (and /web).
FORBIDDEN = [
    "/static/widget.js.map",
    "/static/widget.js.map/",
    "/static//widget.js.map",
    "/static/./widget.js.map",
    "/static/widget.js%2emap",
    "/static/widget.js%2Emap",
    "/static/widget%2ejs%2emap",
    "/static/widget.js.%6dap",
    "/static/widget.js.map%2F",
    "/static/widget.js.map%2f",
    "/static/widget.js.map?x=1",
    "/static/widget.js.map#x",
    "/static/widget.js.map;x",
    "/static/widget.js.MAP",
    "/static/widget.js.Map",
    "/static/widget.js.map%00",
    "/static/widget.js.map.",
    "/static/widget.js.map%20",
    "/static/sub/../widget.js.map",
    "/static/sub%2F..%2Fwidget.js.map",
    "/static/%2e/widget.js.map",
    "/static\\widget.js.map",
    "/static/sub\\..\\widget.js.map",
    "/static/widget.js%252emap",
    "/static/.env",
    "/static/.env/",
    "/static//.env",
    "/static/./.env",
    "/static/%2eenv",
    "/static/%2Eenv",
    "/static/.ENV",
    "/static/sub/../.env",
    "/static/%2e%2e/static/.env",
    "/static/.git/config",
    "/static/.git//config",
    "/static/%2egit/config",
    "/static/.git%2Fconfig",
    "/static/.git%2fconfig",
    "/static/sub/.hidden",
    "/static/sub//.hidden",
    "/static/sub%2F.hidden",
    "/static/sub/%2ehidden",
    "/.env",
    "/.git/config",
    "/%2egit/config",
    "/web/app.js.map",
    "/web/app.js.map/",
    "/web//app.js.map",
    "/web/.env",
    "/web/%2eenv",
]

# What must still be served.
ALLOWED = ["/static/widget.js", "/static/sub/page.js", "/web/app.js"]


def _site(root: Path) -> tuple[Path, Path]:
    static = root / "static"
    demo = root / "demo"
    (static / "sub").mkdir(parents=True)
    (static / ".git").mkdir()
    demo.mkdir()
    (static / "widget.js").write_text("// widget")
    (static / "sub" / "page.js").write_text("// page")
    (demo / "app.js").write_text("// app")
    for secret in [
        static / "widget.js.map",
        static / "widget.js.MAP",
        static / ".env",
        static / ".ENV",
        static / ".git" / "config",
        static / "sub" / ".hidden",
        demo / "app.js.map",
        demo / ".env",
    ]:
        secret.write_text(SECRET)
    return static, demo


async def raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as written; the status and the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode(
                "latin-1"
            )
        )
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


@pytest.fixture
async def site_server(tmp_path: Path) -> AsyncIterator[TestServer]:
    static, demo = _site(tmp_path)
    srv = await start_server(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        static_dir=static,
        demo_dir=demo,
        serve_demo=True,
    )
    yield srv
    await srv.close()


async def test_source_maps_and_dotfiles_are_never_served(site_server: TestServer) -> None:
    port = site_server.port
    assert port is not None
    leaked = []
    for path in FORBIDDEN:
        status, body = await raw_get(port, path)
        if SECRET.encode() in body or status == 200:
            leaked.append((path, status))
    assert leaked == []


async def test_ordinary_static_files_are_still_served(site_server: TestServer) -> None:
    port = site_server.port
    assert port is not None
    for path in ALLOWED:
        status, body = await raw_get(port, path)
        assert (path, status) == (path, 200)
        assert SECRET.encode() not in body
