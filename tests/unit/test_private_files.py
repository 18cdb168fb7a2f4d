"""Secrets and the SQLite database are created private (0600), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_server.db.engine import create_engine
from dev.devstack import Stack, local_config


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """022, as on many servers: the modes checked here must come from the code."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_make_run_generates_and_keeps_every_secret(tmp_path: Path) -> None:
    first = local_config(tmp_path, tmp_path / "model.tar.gz", {})
    assert first.identity_secret  # identity claims can be verified out of the box
    for name in ("secret_key", "rasa_token", "admin_token", "identity_secret"):
        assert mode(tmp_path / name) == 0o600, name
    again = local_config(tmp_path, tmp_path / "model.tar.gz", {})
    assert again.identity_secret == first.identity_secret  # customers' hashes stay valid
    assert again.secret_key == first.secret_key  # visitors keep their session ids


def test_a_secret_from_the_environment_wins_and_is_not_written(tmp_path: Path) -> None:
    config = local_config(tmp_path, tmp_path / "model.tar.gz", {"IDENTITY_SECRET": "from-env"})
    assert config.identity_secret == "from-env"
    assert not (tmp_path / "identity_secret").exists()


def test_an_old_world_readable_secret_file_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("an-old-secret-key-value")
    (tmp_path / "secret_key").chmod(0o644)
    config = local_config(tmp_path, tmp_path / "model.tar.gz", {})
    assert config.secret_key == "an-old-secret-key-value"
    assert mode(tmp_path / "secret_key") == 0o600


def test_each_process_gets_only_the_secrets_it_uses(tmp_path: Path) -> None:
    config = local_config(tmp_path / "var", tmp_path / "model.tar.gz", {})
    stack = Stack(config)
    secrets = {
        "SECRET_KEY": config.secret_key,
        "RASA_TOKEN": config.rasa_token,
        "ADMIN_TOKEN": config.admin_token,
        "IDENTITY_SECRET": config.identity_secret,
    }

    def held(name: str) -> set[str]:
        values = set(stack._env(name).values())
        return {what for what, value in secrets.items() if value in values}

    assert held("chat") == set(secrets)
    assert held("rasa") == {"RASA_TOKEN"}
    assert held("actions") == set()
    assert "DATABASE_URL" not in stack._env("actions")


def test_the_sqlite_file_is_created_private(tmp_path: Path) -> None:
    database = tmp_path / "data" / "rapport.db"
    create_engine(f"sqlite+aiosqlite:///{database}")
    assert mode(database) == 0o600


def test_an_existing_sqlite_file_keeps_its_mode(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    database.touch(mode=0o640)
    create_engine(f"sqlite+aiosqlite:///{database}")
    assert mode(database) == 0o640
