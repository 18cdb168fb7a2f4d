"""docker-compose.yml really starts: every service's command, environment,
health check and dependencies, as written in the file, run as local processes
against this machine's PostgreSQL and a redis-server of the test's own
(tests/support/compose_local.py says what is mapped and why). Then a visitor
talks to the bot through the proxy, over WebSocket and over long-polling."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import postgres_database, trained_model
from tests.support.compose_local import LocalCompose, resolved_config
from tests.support.databases import PG_ADMIN_URL
from tests.support.redis_server import RedisServer
from tests.support.visitor import Visitor

# One worker runs the module (tests/conftest.py): one compose stack per test session.
pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.xdist_group("compose")]


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCompose]:
    tmp = tmp_path_factory.mktemp("compose")
    pg_host = PG_ADMIN_URL.split("@", 1)[1].split("/", 1)[0]
    pg_user = PG_ADMIN_URL.split("://", 1)[1].split("@", 1)[0].split(":", 1)[0]
    with RedisServer(tmp) as redis, postgres_database() as database_url:
        env = {
            "SECRET_KEY": secrets.token_urlsafe(32),
            "RASA_TOKEN": secrets.token_urlsafe(24),
            "IDENTITY_SECRET": secrets.token_urlsafe(32),
            "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
            "ADMIN_TOKEN": secrets.token_urlsafe(32),
            "POSTGRES_USER": pg_user,
            "POSTGRES_DB": database_url.rsplit("/", 1)[1],
        }
        stack = LocalCompose(
            resolved_config(env),
            tmp,
            trained_model(),
            external={"postgres": pg_host, "redis": f"127.0.0.1:{redis.port}"},
        )
        try:
            stack.up(timeout=240)
            yield stack
        finally:
            stack.down()


def test_every_service_comes_up_healthy(compose: LocalCompose) -> None:
    services = compose.config["services"]
    assert compose.procs["migrate"].returncode == 0  # the one-shot migration ran
    running = {n for n, p in compose.procs.items() if p.poll() is None}
    assert running == set(services) - {"postgres", "redis", "migrate"}
    for name in running:
        assert compose.healthy(name), name
    # Two of each that scale out, and every chat node reaches both Rasa processes.
    assert {"rasa_1", "rasa_2", "chat_server_1", "chat_server_2"} <= set(services)
    for node in ("chat_server_1", "chat_server_2"):
        rasa = compose.environment(node)["RASA_URL"].split(",")
        assert sorted(rasa) == sorted(f"http://{compose.address(r)}" for r in ("rasa_1", "rasa_2"))


def test_the_first_admin_password_is_written_by_one_node(compose: LocalCompose) -> None:
    written = list(compose.tmp.glob("volumes/*/initial_admin_password"))
    assert len(written) == 1 and os.stat(written[0]).st_mode & 0o077 == 0


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_visitor_talks_to_the_bot_through_the_proxy(
    compose: LocalCompose, transport: str
) -> None:
    proxy = f"http://{compose.address('proxy')}"
    async with aiohttp.ClientSession() as http, http.get(proxy + "/healthz") as resp:
        assert resp.status == 200
    visitor = Visitor(rapport=True)
    visitor.base_url = proxy
    await visitor.sio.connect(proxy, transports=[transport])
    try:
        await visitor.sio.emit("session_request", {"session_id": None, "rapport": 1})
        visitor.session_id = (await visitor.next("session_confirm"))["session_id"]
        replies = await visitor.say("how much is shipping?", timeout=60)
        assert any("shipping" in (r.get("text") or "").lower() for r in replies), replies
    finally:
        await visitor.close()


def test_nothing_but_the_proxy_is_published(compose: LocalCompose) -> None:
    published = {n for n, s in compose.config["services"].items() if s.get("ports")}
    assert published == {"proxy"}
    compose_file = (Path(__file__).parents[2] / "docker-compose.yml").read_text()
    secrets_ = ("SECRET_KEY", "RASA_TOKEN", "IDENTITY_SECRET", "POSTGRES_PASSWORD", "ADMIN_TOKEN")
    for secret in secrets_:
        assert f"${{{secret}:?" in compose_file, secret
