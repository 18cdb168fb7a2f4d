"""A real chat-server process (``python -m chat_server``: the production entry
point, with its connection gate), Rasa's ports closed, on a throwaway SQLite file;
and the environment and readiness wait of the module-long servers that the fuzz and
schema tests start themselves."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from dev.devstack import ROOT, free_port
from tests.support.limits import GENEROUS_LIMITS_ENV


@dataclass
class ServerProcess:
    base: str
    port: int
    pid: int
    database_url: str
    log: Path


@contextmanager
def chat_server_process(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> Iterator[ServerProcess]:
    """Start the server with ``env`` on top of the defaults (every limit at its
    shipped default unless ``env`` says otherwise); stop it afterwards."""
    port = free_port()
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    environ = {k: v for k, v in os.environ.items() if k not in GENEROUS_LIMITS_ENV}
    environ.pop("TRUSTED_PROXIES", None)
    environ.update(
        DATABASE_URL=database_url,
        PORT=str(port),
        HOST="127.0.0.1",
        SECRET_KEY="server-process-secret-0123456789",
        RASA_URL=f"http://127.0.0.1:{free_port()}",
        ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}",
        RASA_TIMEOUT="2",
        LOG_LEVEL="WARNING",
        **(env or {}),
    )
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chat_server"],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # The URL is this server on 127.0.0.1.
                urllib.request.urlopen(base + "/healthz", timeout=2)  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"chat server did not start:\n{log.read_text()}") from None
                time.sleep(0.3)
        yield ServerProcess(base, port, proc.pid, database_url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def loopback_env(database: Path, port: int, **settings: str) -> dict[str, str]:
    """A chat server's environment: 127.0.0.1:``port`` over the SQLite file ``database``,
    Rasa's ports closed (the assistant is unavailable), every limit generous (these
    tests send thousands of requests from one address; tests/integration/test_limits.py
    tests the limits), and ``settings`` (SECRET_KEY, ADMIN_TOKEN, ...) on top."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
        "RASA_TIMEOUT": "2",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **GENEROUS_LIMITS_ENV,
        **settings,
    }


def _exited(process: subprocess.Popen[bytes], log: Path | None) -> str:
    return log.read_text() if log else f"exited with {process.returncode}"


async def wait_serving(
    base_url: str,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Wait (60 s at most) until the server answers /api/openapi.json; fail at
    once, with its ``log``, if its ``process`` has exited."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while True:
            if process is not None:
                assert process.poll() is None, _exited(process, log)
            try:
                async with http.get(f"{base_url}/api/openapi.json") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, "the chat server did not start"
            await asyncio.sleep(0.2)
