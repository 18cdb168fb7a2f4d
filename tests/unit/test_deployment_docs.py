"""docs/deployment.md is enough to start a cluster without reading dev/devstack.py,
and README's Status says what is built. (Each command in "Run without Docker"
was also run by hand on loopback ports; these checks keep the text honest.)"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from dev.devstack import ROOT

DEPLOYMENT = (ROOT / "docs" / "deployment.md").read_text()
COMPOSE = (ROOT / "docker-compose.yml").read_text()
README = (ROOT / "README.md").read_text()


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def commands() -> str:
    """Every shell block of "Run without Docker", joined."""
    return "\n".join(
        re.findall(r"```sh\n(.*?)```", section(DEPLOYMENT, "Run without Docker"), re.S)
    )


def test_every_process_has_its_command() -> None:
    shell = commands()
    assert "-m chat_server.db.migrate" in shell  # the migration, not only in compose
    # The action server: from bot/, listening where SANIC_HOST says.
    assert "cd bot && SANIC_HOST=127.0.0.1" in shell
    assert "-m rasa_sdk --actions actions -p 5055" in shell
    # Rasa: from bot/ (its stores are imported from there), token by environment.
    assert re.search(r"cd bot && RASA_TOKEN=.*launch_rasa\.py run --enable-api", shell, re.S)
    for variable in ("TRACKER_STORE_URL", "LOCK_STORE_URL", "ACTION_SERVER_URL"):
        assert f"{variable}=" in shell, variable
    # The chat server with every secret it needs, ADMIN_TOKEN included.
    assert ".venv/bin/python -m chat_server\n" in shell
    for variable in (
        "SECRET_KEY",
        "RASA_TOKEN",
        "IDENTITY_SECRET",
        "ADMIN_TOKEN",
        "DATABASE_URL",
        "REDIS_URL",
        "RASA_URL",
    ):
        assert f"{variable}=" in shell, variable
    # Outside bot/, the documented alternative puts it on the path.
    assert "PYTHONPATH=bot" in section(DEPLOYMENT, "Run without Docker")


@pytest.mark.slow  # runs the CLI in a subprocess: not the fast tier
def test_create_agent_is_documented_with_the_options_it_has() -> None:
    text = section(DEPLOYMENT, "Run without Docker")
    usage = subprocess.run(
        [sys.executable, "-m", "chat_server", "create-agent", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in (
        "--username",
        "--display-name",
        "--password",
        "--role",
        "--max-chats",
        "--database-url",
    ):
        assert option in usage and option in text, option
    assert "default 3" in text  # --max-chats


def test_every_compose_secret_is_listed_in_the_configuration() -> None:
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE))
    assert "ADMIN_TOKEN" in required
    listed = section(DEPLOYMENT, "Configuration").split("- **Chat servers**")[0]
    for secret in required:
        assert f"`{secret}`" in listed, secret


def test_the_readme_status_says_scale_out_is_built() -> None:
    status = README[README.index("Status:") :].split("\n\n")[0]
    not_built = status[status.index("designed") :] if "designed" in status else ""
    assert "Scale-out" not in not_built and "Redis" not in not_built
    assert "PostgreSQL and Redis" in status
