"""Local process supervisor: action server, Rasa and chat server, in order.

Used by ``make run`` (``python -m dev.devstack``), by the integration
tests and by the benchmarks, so all three start the stack the same way.
Production deployments use docker-compose.yml or their own supervisor.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

ROOT = Path(__file__).resolve().parent.parent
BOT_PYTHON = ROOT / ".venv-bot" / "bin" / "python"


_PORTS = random.SystemRandom()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, chosen below the
    kernel's ephemeral range. A port from ``bind(0)`` comes from that range,
    where any outgoing connection (to PostgreSQL, Redis, a test's client) may
    take it before the server binds it: seen once as Rasa's "address already
    in use" in a full test run."""
    high = _ephemeral_start() - 1
    for _ in range(100):
        port = _PORTS.randint(20000, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _persistent_secret(path: Path) -> str:
    """A random secret created once and kept under var/ (for `make run`), mode 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        # Created with its final mode, so it is never readable by others, not
        # even for the moment between writing and a chmod.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        path.chmod(0o600)  # tightens files from older versions or a copy
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


# Environment variables that hold secrets (a database URL can hold a password),
# and which process needs which of them.
SECRET_VARIABLES = frozenset(
    {
        "SECRET_KEY",
        "ADMIN_TOKEN",
        "IDENTITY_SECRET",
        "RASA_TOKEN",
        "DATABASE_URL",
        "TRACKER_STORE_URL",
    }
)
PROCESS_SECRETS: dict[str, frozenset[str]] = {
    "chat": frozenset(
        {"SECRET_KEY", "ADMIN_TOKEN", "IDENTITY_SECRET", "RASA_TOKEN", "DATABASE_URL"}
    ),
    "rasa": frozenset({"RASA_TOKEN", "TRACKER_STORE_URL"}),
    "actions": frozenset(),
}


def tracker_store_url(database_url: str) -> str:
    """Rasa's (synchronous SQLAlchemy 1.4) URL for the project database."""
    for async_driver in ("+aiosqlite", "+asyncpg"):
        database_url = database_url.replace(async_driver, "", 1)
    return database_url


@dataclass
class StackConfig:
    """Where the three processes listen and what they use."""

    model: Path
    database_url: str
    log_dir: Path
    chat_port: int = 8080
    rasa_port: int = 5005
    action_port: int = 5055
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    rasa_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # HMAC key shared with the site's backend; None: the chat server refuses
    # identity claims. `make run` always sets one (var/identity_secret).
    identity_secret: str | None = None
    # Where the chat server writes the first admin's one-time password.
    initial_admin_password_file: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # Scale-out: more Rasa processes and chat-server nodes (ports), and the
    # Redis they share (REDIS_URL for the chat servers, LOCK_STORE_URL for Rasa).
    extra_rasa_ports: list[int] = field(default_factory=list)
    extra_chat_ports: list[int] = field(default_factory=list)
    redis_url: str | None = None
    lock_store_url: str | None = None

    @property
    def chat_url(self) -> str:
        return f"http://127.0.0.1:{self.chat_port}"

    @property
    def chat_urls(self) -> list[str]:
        """Every chat-server node, the first one (chat_url) first."""
        return [f"http://127.0.0.1:{p}" for p in [self.chat_port, *self.extra_chat_ports]]

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in [self.rasa_port, *self.extra_rasa_ports]]

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"


class Stack:
    """Starts, checks and stops the processes of one Rapport deployment."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, BinaryIO] = {}
        config.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    @property
    def base_url(self) -> str:
        return self.config.chat_url

    def _env(self, name: str) -> dict[str, str]:
        """Environment of process ``name``: only the secrets that process uses."""
        c = self.config
        env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
        env.update(
            RASA_TELEMETRY_ENABLED="false",
            ACTION_SERVER_URL=c.action_url,
            TRACKER_STORE_URL=tracker_store_url(c.database_url),
            RASA_URL=",".join(c.rasa_urls),
            RASA_TOKEN=c.rasa_token,
            DATABASE_URL=c.database_url,
            SECRET_KEY=c.secret_key,
            ADMIN_TOKEN=c.admin_token,
            PORT=str(c.chat_port),
            HOST="127.0.0.1",
            SERVE_DEMO="true",
            # The action server has no --interface flag; Sanic reads this.
            SANIC_HOST="127.0.0.1",
            PYTHONUNBUFFERED="1",
        )
        if c.redis_url:
            env["REDIS_URL"] = c.redis_url
        if c.lock_store_url:
            env["LOCK_STORE_URL"] = c.lock_store_url
        if c.identity_secret:
            env["IDENTITY_SECRET"] = c.identity_secret
        if c.initial_admin_password_file is not None:
            env["INITIAL_ADMIN_PASSWORD_FILE"] = str(c.initial_admin_password_file)
        env.update(c.extra_env)
        # A process never holds a secret it does not use: a leak (a debug
        # dump, a plugin) of the action server then reveals nothing.
        for variable in SECRET_VARIABLES - PROCESS_SECRETS[name.rstrip("0123456789")]:
            env.pop(variable, None)
        return env

    def _spawn(
        self, name: str, args: list[str], cwd: Path, env: Mapping[str, str] | None = None
    ) -> None:
        environment = {**self._env(name), **(env or {})}
        # Logs can hold visitors' messages: owner-only, like the database.
        fd = os.open(self.log_path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)  # a log left by an older version may be wider
        log = self._logs[name] = os.fdopen(fd, "ab")
        self.procs[name] = subprocess.Popen(
            args,
            cwd=cwd,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Whatever the processes create (the SQLite file and its WAL,
            # Rasa's files) is private to the user running the stack.
            umask=0o077,
        )

    def start_actions(self) -> None:
        self._spawn(
            "actions",
            [
                str(BOT_PYTHON),
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "-p",
                str(self.config.action_port),
            ],
            ROOT / "bot",
        )

    def start_rasa(self, name: str = "rasa", port: int | None = None) -> None:
        c = self.config
        self._spawn(
            name,
            # The launcher passes RASA_TOKEN (from the environment) to Rasa as
            # --auth-token in-process: process arguments are visible to all users.
            [
                str(BOT_PYTHON),
                "launch_rasa.py",
                "run",
                "--enable-api",
                "-i",
                "127.0.0.1",
                "-p",
                str(port or c.rasa_port),
                "--model",
                str(c.model.resolve()),
                "--credentials",
                "credentials.yml",
                "--endpoints",
                "endpoints.yml",
            ],
            ROOT / "bot",
        )

    def start_chat(self, name: str = "chat", port: int | None = None) -> None:
        self._spawn(
            name,
            [sys.executable, "-m", "chat_server"],
            ROOT,
            {"PORT": str(port or self.config.chat_port)},
        )

    @property
    def chat_nodes(self) -> dict[str, str]:
        """Chat-server process name -> base URL ("chat", "chat2", ...)."""
        names = ["chat", *(f"chat{i + 2}" for i in range(len(self.config.extra_chat_ports)))]
        return dict(zip(names, self.config.chat_urls, strict=True))

    def start(self, timeout: float = 180) -> None:
        """Start everything and wait until /healthz says all parts are up."""
        self.start_actions()
        self.start_rasa()
        for i, port in enumerate(self.config.extra_rasa_ports):
            self.start_rasa(f"rasa{i + 2}", port)
        for (name, _), port in zip(
            self.chat_nodes.items(),
            [self.config.chat_port, *self.config.extra_chat_ports],
            strict=True,
        ):
            self.start_chat(name, port)
        for url in self.config.chat_urls:
            self.wait_healthy(timeout, url)
        # With several Rasa processes a chat server is healthy while one is up.
        if self.config.extra_rasa_ports:
            for url in self.config.rasa_urls:
                self.wait_url(url + "/", timeout)

    def wait_url(self, url: str, timeout: float) -> None:
        """Wait until ``url`` (one of the stack's own http://127.0.0.1 URLs) answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{url} did not answer within {timeout}s")

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop_process(self, name: str, timeout: float = 15) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log = self._logs.pop(name, None)
        if log is not None:
            log.close()

    def stop(self) -> None:
        # Chat servers first (they talk to Rasa), then Rasa, then the actions.
        order = {"chat": 0, "rasa": 1, "actions": 2}
        for name in sorted(self.procs, key=lambda n: order.get(n.rstrip("0123456789"), 3)):
            self.stop_process(name)

    def health(self, base_url: str | None = None) -> tuple[int, str]:
        try:
            # chat URLs are always http://127.0.0.1:<port> (StackConfig.chat_urls).
            url = (base_url or self.config.chat_url) + "/healthz/details"
            with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError as e:
            return 0, str(e)

    def wait_healthy(self, timeout: float = 180, base_url: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        status, body = 0, ""
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {proc.returncode}; see {self.log_path(name)}"
                    )
            status, body = self.health(base_url)
            if status == 200:
                return
            time.sleep(0.5)
        raise TimeoutError(f"stack not healthy after {timeout}s: {status} {body}")

    def log_path(self, name: str) -> Path:
        return self.config.log_dir / f"{name}.log"


def local_config(var: Path, model: Path, environ: Mapping[str, str]) -> StackConfig:
    """The configuration of `make run`: ports from ``environ``, secrets under ``var``.

    Each secret comes from ``environ`` when set there, else from a file in
    ``var`` created on first use (mode 0600), so it survives restarts.
    """

    def secret(name: str) -> str:
        return environ.get(name.upper()) or _persistent_secret(var / name)

    mail_port = environ.get("MAIL_CATCHER_PORT", "1025")

    return StackConfig(
        model=model,
        database_url=environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{var / 'rapport.db'}"),
        log_dir=var / "log",
        chat_port=int(environ.get("PORT", 8080)),
        rasa_port=int(environ.get("RASA_PORT", 5005)),
        action_port=int(environ.get("ACTION_PORT", 5055)),
        secret_key=secret("secret_key"),
        rasa_token=secret("rasa_token"),
        admin_token=secret("admin_token"),
        # Without it the chat server refuses every logged-in customer's claim;
        # the site's backend signs user ids with this same value.
        identity_secret=secret("identity_secret"),
        # The chat server writes the first admin's one-time password here (once).
        initial_admin_password_file=var / "initial_admin_password",
        # A running campaign on the demo store, so a newcomer sees a proactive
        # opener within a minute (created once, when there is no campaign).
        extra_env={
            "DEMO_CAMPAIGN": environ.get("DEMO_CAMPAIGN", "true"),
            # No mail account needed: every email Rapport sends is caught inside
            # the chat server and listed in the console (Developer → Mail);
            # set SMTP_URL to send through a real relay instead.
            "DEV_MAIL_CATCHER_PORT": mail_port,
            "SMTP_URL": environ.get("SMTP_URL", f"smtp://127.0.0.1:{mail_port}"),
        },
    )


def mail_line(config: StackConfig) -> str:
    """Where make run's email goes: the catcher inside the server, or a relay."""
    port = config.extra_env.get("DEV_MAIL_CATCHER_PORT")
    if port and config.extra_env.get("SMTP_URL") == f"smtp://127.0.0.1:{port}":
        return "  email:               caught, never sent: console -> Mail (dev)\n"
    return "  email:               sent through SMTP_URL\n"


def rel(path: Path) -> str:
    """``path`` relative to the repository when inside it (shorter to read)."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run Rapport locally (make run).")
    parser.add_argument("--model", type=Path, default=ROOT / "var" / "models" / "current.tar.gz")
    args = parser.parse_args()
    var = ROOT / "var"
    config = local_config(var, args.model, os.environ)

    def kept_in(name: str) -> str:
        return f"${name.upper()}" if os.environ.get(name.upper()) else rel(var / name)

    stack = Stack(config)
    # Ctrl-C and SIGTERM both stop all three processes. SIGINT is set explicitly
    # because a shell that starts us in the background leaves it ignored.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print("starting action server, Rasa (loads the model, ~30 s) and chat server...", flush=True)
    try:
        stack.start()
        # Only where secrets are kept is printed, never a secret itself
        # (terminal output ends up in CI logs and screen shares).
        password_file = config.initial_admin_password_file
        first_login = (
            f"  first login:         admin, one-time password in {rel(password_file)} "
            "(you choose a new one)\n"
            if password_file is not None and password_file.exists()
            else ""
        )
        print(
            f"\nRapport is running. Logs: {rel(config.log_dir)}/\n"
            f"  demo store + widget: {config.chat_url}/\n"
            f"  agent console:       {config.chat_url}/console\n"
            f"{first_login}"
            f"  health:              {config.chat_url}/healthz\n"
            f"{mail_line(config)}"
            f"  API token (Bearer):  {kept_in('admin_token')}\n"
            f"  identity secret:     {kept_in('identity_secret')} (your site's backend "
            "signs logged-in customers' ids with it; README)\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while all(p.poll() is None for p in stack.procs.values()):
            time.sleep(1)
        print("a process exited; stopping the others", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C or SIGTERM (from a supervisor, or make passing one
        # on) must not cut the shutdown short and orphan Rasa.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nstopping...", flush=True)
        stack.stop()


if __name__ == "__main__":
    main()
