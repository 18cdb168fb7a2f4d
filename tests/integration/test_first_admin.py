"""The first admin's one-time password is written to a private file, never logged."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from chat_server.app import create_app
from chat_server.settings import Settings
from dev.devstack import free_port


async def start(tmp_path: Path, password_file: Path | None) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}",
        secret_key="test-secret-key-0123456789",  # type: ignore[arg-type]
        initial_admin_password_file=password_file,
    )
    srv = TestServer(create_app(settings), host="127.0.0.1", port=free_port())
    await srv.start_server()
    await srv.close()


async def test_the_password_goes_to_a_private_file_and_the_log_says_where(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    password_file = tmp_path / "secrets" / "initial_admin_password"
    with caplog.at_level(logging.INFO):
        await start(tmp_path, password_file)
    password = password_file.read_text().strip()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password not in caplog.text
    assert str(password_file) in caplog.text


async def test_without_a_password_file_no_admin_is_created_and_nothing_leaks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await start(tmp_path, None)
    assert "create-agent --role admin" in caplog.text
    # A later start with a file still creates the admin: none was created before.
    password_file = tmp_path / "initial_admin_password"
    await start(tmp_path, password_file)
    assert password_file.exists()
