"""docker-compose.yml is valid (checked by docker-compose itself, no engine needed)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from dev.devstack import ROOT

SERVICES = {"postgres", "action_server", "rasa", "chat_server"}


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "docker-compose is not installed (make test installs it: Debian package docker-compose)"
        )
    return subprocess.run(
        [exe, "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True, text=True, env={**os.environ, **env}, check=False,
    )


def test_compose_file_is_valid_and_complete() -> None:
    result = compose("config", env={"SECRET_KEY": "k" * 32, "RASA_TOKEN": "t" * 24})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert set(config["services"]) == SERVICES
    for name, service in config["services"].items():
        assert "healthcheck" in service, f"{name} has no health check"
    # Only the chat server is published; Rasa's API stays on the private network.
    published = {n for n, s in config["services"].items() if s.get("ports")}
    assert published == {"chat_server"}
    env = config["services"]["chat_server"]["environment"]
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_compose_refuses_to_run_without_secrets() -> None:
    result = compose("config", "-q", env={"SECRET_KEY": "", "RASA_TOKEN": ""})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr or "RASA_TOKEN" in result.stderr
