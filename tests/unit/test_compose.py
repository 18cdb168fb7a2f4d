"""docker-compose.yml is valid (checked by docker-compose itself, no engine needed)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from dev.devstack import ROOT

SERVICES = {
    "postgres",
    "redis",
    "migrate",
    "action_server",
    "rasa_1",
    "rasa_2",
    "chat_server_1",
    "chat_server_2",
    "proxy",
}
BACKEND_ONLY = ("postgres", "redis", "migrate", "action_server", "rasa_1", "rasa_2")
CHAT_NODES = ("chat_server_1", "chat_server_2")


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "docker-compose is not installed (make test installs it: Debian package docker-compose)"
        )
    return subprocess.run(
        [exe, "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )


def command_of(service: dict[str, object]) -> list[str]:
    """A service's command as a list (compose v1 keeps a string as given)."""
    command = service.get("command") or []
    if isinstance(command, str):
        return command.split()
    assert isinstance(command, list)
    return [str(arg) for arg in command]


SECRETS = {
    "SECRET_KEY": "k" * 32,
    "RASA_TOKEN": "rasa-token-" + "t" * 16,
    "IDENTITY_SECRET": "identity-" + "i" * 32,
    "POSTGRES_PASSWORD": "pg-password-" + "p" * 8,
    "ADMIN_TOKEN": "admin-token-" + "a" * 32,
}


def test_compose_file_is_valid_and_complete() -> None:
    result = compose("config", env=SECRETS)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert set(config["services"]) == SERVICES
    for name, service in config["services"].items():
        if name != "migrate":  # a one-shot job: others wait for it to finish
            assert "healthcheck" in service, f"{name} has no health check"
    # Only the proxy is published; Rasa's API stays on the private network.
    published = {n for n, s in config["services"].items() if s.get("ports")}
    assert published == {"proxy"}
    for node in CHAT_NODES:
        env = config["services"][node]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["RASA_URL"].split(",") == ["http://rasa_1:5005", "http://rasa_2:5005"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        # The operator's token reaches every node (create agents over /api).
        assert env["ADMIN_TOKEN"] == SECRETS["ADMIN_TOKEN"]
    for rasa in ("rasa_1", "rasa_2"):
        assert config["services"][rasa]["environment"]["LOCK_STORE_URL"].startswith("redis://")


def test_compose_keeps_the_backend_internal_and_secrets_off_command_lines() -> None:
    config = yaml.safe_load(compose("config", env=SECRETS).stdout)
    networks = config["networks"]
    services = config["services"]
    for name in BACKEND_ONLY:
        attached = set(services[name]["networks"])
        assert attached and all(networks[n].get("internal") for n in attached), name
    for node in CHAT_NODES:
        assert set(services[node]["networks"]) == {"backend", "edge"}
    assert set(services["proxy"]["networks"]) == {"edge"}
    # X-Forwarded-For is believed from the proxy alone, not from the whole network.
    proxy_address = services["proxy"]["networks"]["edge"]["ipv4_address"]
    for node in CHAT_NODES:
        assert services[node]["environment"]["TRUSTED_PROXIES"] == proxy_address
    # Process arguments are visible to every user of the host (ps); env is not.
    commands = {name: command_of(service) for name, service in services.items()}
    for name, command in commands.items():
        for secret in SECRETS.values():
            assert secret not in " ".join(command), f"{name} has a secret on its command line"
    for rasa in ("rasa_1", "rasa_2"):
        assert commands[rasa][:2] == ["python", "launch_rasa.py"]
        assert services[rasa]["environment"]["RASA_TOKEN"] == SECRETS["RASA_TOKEN"]
        # Each container gets only the secrets it uses.
        assert "SECRET_KEY" not in services[rasa]["environment"]
    assert not set(SECRETS.values()) & set(services["action_server"]["environment"].values())


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_run_without_secrets(missing: str) -> None:
    result = compose("config", "-q", env={**SECRETS, missing: ""})
    assert result.returncode != 0
    assert missing in result.stderr
