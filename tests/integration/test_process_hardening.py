"""The stack `make run` starts keeps its secrets, ports and files to itself.

One stack built exactly as `make run` builds it (``local_config``: secrets
generated under a var/ directory, the first admin's password file), started
under a permissive umask (022, as on many servers) so that every file mode
checked here comes from Rapport, not from the test runner.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dev.devstack import Stack, free_port, local_config
from tests.conftest import trained_model
from tests.support.visitor import Visitor

# One worker runs the module (tests/conftest.py): its stack starts once per session.
pytestmark = [pytest.mark.stack, pytest.mark.xdist_group("process_hardening")]

SECRET_FILES = ("secret_key", "rasa_token", "admin_token", "identity_secret")


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="module")
def stack(var: Path) -> Iterator[Stack]:
    environ = {
        "PORT": str(free_port()),
        "RASA_PORT": str(free_port()),
        "ACTION_PORT": str(free_port()),
    }
    old_umask = os.umask(0o022)
    try:
        config = local_config(var, trained_model(), environ)
        with Stack(config) as s:
            yield s
    finally:
        os.umask(old_umask)


def secret_values(stack: Stack, var: Path) -> dict[str, str]:
    c = stack.config
    assert c.identity_secret  # make run always has one
    values = {
        "SECRET_KEY": c.secret_key,
        "RASA_TOKEN": c.rasa_token,
        "ADMIN_TOKEN": c.admin_token,
        "IDENTITY_SECRET": c.identity_secret,
    }
    password_file = var / "initial_admin_password"
    if password_file.exists():
        values["first admin's password"] = password_file.read_text().strip()
    return values


def stack_pids(stack: Stack) -> dict[int, str]:
    """Every process of the stack (children included) → its name in the stack."""
    sessions = {proc.pid: name for name, proc in stack.procs.items()}
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # Field 6 is the session id; the command name (2) may hold spaces.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        sid = int(fields[3])
        if sid in sessions:
            found[int(entry.name)] = sessions[sid]
    assert set(found.values()) == {"actions", "rasa", "chat"}
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_no_secret_in_any_process_arguments(stack: Stack, var: Path) -> None:
    secrets = secret_values(stack, var)
    for pid, name in stack_pids(stack).items():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        for what, value in secrets.items():
            assert value not in cmdline, f"{what} is in the arguments of {name} ({pid})"
        if name == "rasa":
            assert "launch_rasa.py" in cmdline


def test_each_process_has_only_its_own_secrets_and_a_private_umask(stack: Stack, var: Path) -> None:
    secrets = secret_values(stack, var)
    allowed = {
        "chat": {"SECRET_KEY", "RASA_TOKEN", "ADMIN_TOKEN", "IDENTITY_SECRET"},
        "rasa": {"RASA_TOKEN"},
        "actions": set(),
    }
    for pid, name in stack_pids(stack).items():
        environ = Path(f"/proc/{pid}/environ")
        # Other users cannot read a process's environment (the kernel's 0400).
        assert mode(environ) == 0o400
        held = environ.read_bytes().decode(errors="replace")
        present = {what for what, value in secrets.items() if value in held}
        assert present <= allowed[name], f"{name} holds {present - allowed[name]}"
        status = Path(f"/proc/{pid}/status").read_text()
        assert "Umask:\t0077" in status, f"{name} runs with a wider umask"


def rasa_get(stack: Stack, path: str, token: str | None) -> tuple[int, Any]:
    url = stack.config.rasa_url + path + (f"?token={token}" if token is not None else "")
    try:
        # The URL is http://127.0.0.1:<port> from StackConfig.
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            return int(response.status), json.load(response)
    except urllib.error.HTTPError as e:
        return e.code, None


async def test_rasa_http_api_needs_the_token(stack: Stack) -> None:
    visitor = Visitor()
    await visitor.connect(stack.base_url)
    await visitor.say("hi")
    await visitor.close()
    tracker = f"/conversations/{visitor.visitor_id}/tracker"
    assert rasa_get(stack, tracker, None)[0] in (401, 403)
    assert rasa_get(stack, tracker, "not-the-token")[0] in (401, 403)
    status, body = rasa_get(stack, tracker, stack.config.rasa_token)
    assert status == 200
    assert any(e.get("text") == "hi" for e in body["events"])  # the real tracker


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def non_loopback_address() -> str | None:
    """This machine's address on its default route, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent (UDP)
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if address.startswith("127.") else address


def test_rasa_and_action_server_listen_on_loopback_only(stack: Stack) -> None:
    c = stack.config
    for name, port in (
        ("rasa", c.rasa_port),
        ("action server", c.action_port),
        ("chat server", c.chat_port),
    ):
        # 0100007F is 127.0.0.1 as the kernel prints it (little-endian hex).
        assert listening_addresses(port) == {"0100007F"}, f"{name} listens beyond loopback"
    address = non_loopback_address()
    if address is None:
        return  # no other interface here: the /proc/net check above is the whole proof
    for port in (c.rasa_port, c.action_port):
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=3):
            pass


def test_secrets_database_and_logs_are_private(stack: Stack, var: Path) -> None:
    log_dir = stack.config.log_dir
    logs = {p.name for p in log_dir.iterdir()}
    assert logs == {"actions.log", "rasa.log", "chat.log"}
    database = {p.name for p in var.glob("rapport.db*")}
    # The WAL file exists: Rasa and the chat server both wrote.
    assert {"rapport.db", "rapport.db-wal"} <= database
    expected = {
        **{var / name: 0o600 for name in (*SECRET_FILES, "initial_admin_password")},
        log_dir: 0o700,
        **{log_dir / name: 0o600 for name in logs},
        **{var / name: 0o600 for name in database},
    }
    wrong = {
        str(path.relative_to(var)): oct(mode(path))
        for path in expected
        if mode(path) != expected[path]
    }
    assert wrong == {}


def test_no_secret_in_any_log(stack: Stack, var: Path) -> None:
    """Runs last: the tests above made authenticated calls to Rasa and a visitor turn."""
    secrets = secret_values(stack, var)
    assert "first admin's password" in secrets  # the stack created the first admin
    for log in stack.config.log_dir.iterdir():
        text = log.read_text(errors="replace")
        for what, value in secrets.items():
            assert value not in text, f"{what} is in {log.name}"
    # The log says where the one-time password is, not what it is.
    assert str(var / "initial_admin_password") in stack.log_path("chat").read_text()
