"""An in-process chat server on SQLite and on PostgreSQL, with Rasa absent.

Rasa and the action server ports are simply closed: no fake answers for them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import make_url

from chat_server.app import create_app
from chat_server.db.engine import create_engine
from chat_server.db.migrate import upgrade_to_head
from chat_server.settings import Settings
from dev.devstack import free_port
from tests.support.agents import AgentClient, create_agent
from tests.support.databases import PostgresDatabase
from tests.support.limits import GENEROUS_LIMITS_ENV

IDENTITY_SECRET = "identity-secret-for-tests"
ADMIN_TOKEN = "admin-token-for-tests-0123"
# The same generous limits as the live stack's, as Settings fields.
GENEROUS_LIMITS: dict[str, Any] = {k.lower(): v for k, v in GENEROUS_LIMITS_ENV.items()}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every test using this runs on SQLite and on a real PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    else:
        async with PostgresDatabase() as url:
            yield url


# Migrating a new SQLite database takes ~0.25 s of CPU, and the in-process tests
# start a server on a new one about 230 times: each worker migrates one
# template and copies it (what the server then finds is exactly what its own
# migration would have made; it still checks the revision at start-up).
_template: Path | None = None


async def _migrated_template() -> Path:
    global _template
    if _template is None:
        path = Path(tempfile.mkdtemp(prefix="rapport-template-")) / "template.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()
        _template = path
    return _template


async def _from_template(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    _copy_if_new(await _migrated_template(), Path(url.database))


def _copy_if_new(template: Path, target: Path) -> None:
    if not target.exists():  # an existing database (a restart) is the test's own
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        target.chmod(0o600)  # as the server creates it


async def start_server(database_url: str, port: int | None = None, **overrides: Any) -> TestServer:
    """An in-process chat server whose Rasa and action server ports are closed."""
    await _from_template(database_url)
    options: dict[str, Any] = {
        "rasa_url": f"http://127.0.0.1:{free_port()}",
        "action_server_url": f"http://127.0.0.1:{free_port()}",
        "secret_key": "test-secret-key-0123456789",
        "identity_secret": IDENTITY_SECRET,
        "admin_token": ADMIN_TOKEN,
        "rasa_timeout": 2,
        # Many tests connect from 127.0.0.1 within seconds; the limits have
        # their own tests (test_limits.py), which set them back.
        **GENEROUS_LIMITS,
        **overrides,
    }
    settings = Settings(database_url=database_url, **options)
    srv = TestServer(create_app(settings), host="127.0.0.1", port=port or free_port())
    await srv.start_server()
    srv.settings = settings  # type: ignore[attr-defined]
    return srv


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[TestServer]:
    srv = await start_server(database_url)
    yield srv
    await srv.close()


def base(srv: TestServer) -> str:
    return str(srv.make_url("")).rstrip("/")


async def new_agent(srv: TestServer, name: str, status: str = "online", **kw: Any) -> AgentClient:
    """A new agent on ``srv`` (``kw``: create_agent's options), signed in, with
    ``status`` (a new agent is offline: "offline" leaves it as it is)."""
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(srv), ADMIN_TOKEN, name=name, **kw)
    agent = await AgentClient(base(srv), data["username"]).login()
    if status != "offline":
        await agent.set_status(status)
    return agent
