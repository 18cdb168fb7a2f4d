"""Shared fixtures: the real stack (action server + Rasa + chat server)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from chat_server.services import agents
from dev.devstack import ROOT, Stack, StackConfig, free_port
from tests.support.databases import PostgresDatabase
from tests.support.limits import GENEROUS_LIMITS_ENV
from tests.support.origins import THIRD_PARTY_ORIGIN
from tests.support.redis_server import RedisServer

# Argon2 at the server's cost (64 MiB, 3 passes: ~0.1 s of CPU per hash or
# check) made sign-ins a large part of the in-process tests' time. They use the
# same library at its lowest cost; servers started as processes keep the real
# one, and tests/unit/test_password_hashing.py checks it.
agents._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# An unknown name is checked against a dummy hash, whose own parameters set the
# cost of checking it: made with the cheap hasher too.
agents._DUMMY_HASH = agents._hasher.hash("rapport-no-such-agent")


def trained_model() -> Path:
    """The model `make test` trained (RAPPORT_MODEL), else train/reuse the cached one."""
    if os.environ.get("RAPPORT_MODEL"):
        return Path(os.environ["RAPPORT_MODEL"])
    out = subprocess.run(
        [str(ROOT / "scripts" / "train.sh")], check=True, capture_output=True, text=True
    )
    return ROOT / out.stdout.strip().splitlines()[-1]


# Agents whose console drops are requeued after 3 s, not 60, so the disconnect
# test does not wait a minute. Many tests connect from 127.0.0.1 within
# seconds: the rate limits are raised here and tested on their own
# (tests/integration/test_limits.py). The identity secret lets tests sign
# customer claims; the rasa-webchat page is served from a second origin.
IDENTITY_SECRET = "live-stack-identity-secret"
LIVE_STACK_ENV = {
    "AGENT_GRACE_SECONDS": "3",
    "ALLOWED_ORIGINS": THIRD_PARTY_ORIGIN,
    # Tests receive webhooks on 127.0.0.1 and watch retries without waiting long.
    "WEBHOOK_ALLOW_PRIVATE": "true",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.5",
    **GENEROUS_LIMITS_ENV,
}


# The live stacks' database: SQLite by default; `RAPPORT_TEST_DATABASE=postgres`
# runs every one of them on a throwaway PostgreSQL database (make test does both).
STACK_DATABASE = os.environ.get("RAPPORT_TEST_DATABASE", "sqlite")
if STACK_DATABASE not in ("sqlite", "postgres"):
    raise ValueError(f"RAPPORT_TEST_DATABASE must be sqlite or postgres, not {STACK_DATABASE!r}")


@contextmanager
def stack_database(tmp: Path) -> Iterator[str]:
    if STACK_DATABASE == "postgres":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp / 'rapport.db'}"


@contextmanager
def make_stack(tmp: Path, **extra: str) -> Iterator[Stack]:
    """A started stack (action server, Rasa, chat server) on its own database."""
    mail_port = str(free_port())
    # Mail goes to the chat server's own catcher (read at /api/dev/mail).
    mail = {"DEV_MAIL_CATCHER_PORT": mail_port, "SMTP_URL": f"smtp://127.0.0.1:{mail_port}"}
    with stack_database(tmp) as database_url:
        config = stack_config(tmp, database_url, extra_env={**LIVE_STACK_ENV, **mail, **extra})
        with Stack(config) as stack:
            yield stack


def stack_config(tmp: Path, database_url: str, **options: Any) -> StackConfig:
    """A test stack's configuration: the trained model, free ports, logs in ``tmp``."""
    defaults: dict[str, Any] = {
        "extra_env": dict(LIVE_STACK_ENV),
        "identity_secret": IDENTITY_SECRET,
    }
    return StackConfig(
        model=trained_model(),
        database_url=database_url,
        log_dir=tmp / "log",
        chat_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        **{**defaults, **options},
    )


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One real stack shared by the tests that only talk to it."""
    with make_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


# -- Scale-out: two chat-server nodes and two Rasa processes -----------------------
# Shared by tests/integration/test_scale_out.py and the browser test of it; on
# PostgreSQL, with a redis-server of its own (the tests stop and restart it).


@pytest.fixture(scope="session")
def cluster_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, cluster_redis: RedisServer
) -> Iterator[Stack]:
    """Nodes ``chat`` (A) and ``chat2`` (B); Rasa ``rasa`` and ``rasa2``."""
    tmp = tmp_path_factory.mktemp("cluster")
    with postgres_database() as database_url:
        config = stack_config(
            tmp,
            database_url,
            extra_rasa_ports=[free_port()],
            extra_chat_ports=[free_port()],
            redis_url=cluster_redis.url(0),
            lock_store_url=cluster_redis.url(1),
        )
        with Stack(config) as stack:
            yield stack


@contextmanager
def postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for a session-long stack."""
    database = PostgresDatabase()
    # In a thread of its own: Playwright's sync API may be running a loop here.
    with ThreadPoolExecutor(1) as thread:
        url = thread.submit(asyncio.run, database.__aenter__()).result()
        try:
            yield url
        finally:
            thread.submit(asyncio.run, database.__aexit__(None, None, None)).result()


# -- Parallel runs (pytest-xdist, `--dist loadgroup`) ----------------------------
# Each worker starts its own session and module fixtures. Tests that share an
# expensive one run on one worker, so it starts once per test session: the
# two-node cluster (two chat servers, two Rasa processes) by the group set
# here, a module's own stack (compose, process hardening, memory) by an
# ``xdist_group`` mark in that module.
#
# pytest-xdist 3.8 tells its scheduler a test's group by appending "@<group>" to
# the legacy ``item._nodeid``, which pytest 9.2 no longer reads (node ids are
# structured now: pytest-dev/pytest-xdist#1386), so groups were silently lost
# and every worker started each of these fixtures again. Until xdist sets the
# structured id itself, the suffix is put there here (trylast: after its hook).


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    loadgroup = config.getoption("loadgroup", default=False)
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "cluster" in fixtures or "cluster_redis" in fixtures:
            item.add_marker(pytest.mark.xdist_group("cluster"))
        groups = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        node_id = getattr(item, "_id", None)
        suffixed = item.nodeid.rfind("@") > item.nodeid.rfind("]")
        if loadgroup and groups and node_id is not None and not suffixed:
            grouped = f"{item.nodeid}@{'_'.join(groups)}"
            setattr(item, "_id", type(node_id).parse(grouped))  # noqa: B010
