"""Local process supervisor: action server, Rasa and chat server, in order.

Used by ``make run`` (``python -m dev.devstack``), by the integration
tests and by the benchmarks, so all three start the stack the same way.
Production deployments use docker-compose.yml or their own supervisor.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

ROOT = Path(__file__).resolve().parent.parent
BOT_PYTHON = ROOT / ".venv-bot" / "bin" / "python"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _persistent_secret(path: Path) -> str:
    """A random secret created once and kept under var/ (for `make run`)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


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
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def chat_url(self) -> str:
        return f"http://127.0.0.1:{self.chat_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"


class Stack:
    """Starts, checks and stops the processes of one Rapport deployment."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, BinaryIO] = {}
        config.log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def base_url(self) -> str:
        return self.config.chat_url

    def _env(self) -> dict[str, str]:
        c = self.config
        env = dict(os.environ)
        env.update(
            RASA_TELEMETRY_ENABLED="false",
            ACTION_SERVER_URL=c.action_url,
            TRACKER_STORE_URL=tracker_store_url(c.database_url),
            RASA_URL=c.rasa_url,
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
        env.update(c.extra_env)
        return env

    def _spawn(self, name: str, args: list[str], cwd: Path) -> None:
        log = self._logs[name] = open(self.config.log_dir / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(
            args, cwd=cwd, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_actions(self) -> None:
        self._spawn(
            "actions",
            [str(BOT_PYTHON), "-m", "rasa_sdk", "--actions", "actions",
             "-p", str(self.config.action_port)],
            ROOT / "bot",
        )

    def start_rasa(self) -> None:
        c = self.config
        self._spawn(
            "rasa",
            [str(BOT_PYTHON), "-m", "rasa", "run", "--enable-api",
             f"--auth-token={c.rasa_token}", "-i", "127.0.0.1", "-p", str(c.rasa_port),
             "--model", str(c.model.resolve()), "--credentials", "credentials.yml",
             "--endpoints", "endpoints.yml"],
            ROOT / "bot",
        )

    def start_chat(self) -> None:
        self._spawn("chat", [sys.executable, "-m", "chat_server"], ROOT)

    def start(self, timeout: float = 180) -> None:
        """Start everything and wait until /healthz says all parts are up."""
        self.start_actions()
        self.start_rasa()
        self.start_chat()
        self.wait_healthy(timeout)

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
        for name in ("chat", "rasa", "actions"):
            self.stop_process(name)

    def health(self) -> tuple[int, str]:
        try:
            # chat_url is always http://127.0.0.1:<port> (StackConfig.chat_url).
            url = self.config.chat_url + "/healthz/details"
            with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError as e:
            return 0, str(e)

    def wait_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        status, body = 0, ""
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {proc.returncode}; see {self.log_path(name)}"
                    )
            status, body = self.health()
            if status == 200:
                return
            time.sleep(0.5)
        raise TimeoutError(f"stack not healthy after {timeout}s: {status} {body}")

    def log_path(self, name: str) -> Path:
        return self.config.log_dir / f"{name}.log"


def main() -> None:
    parser = argparse.ArgumentParser(description="Run Rapport locally (make run).")
    parser.add_argument("--model", type=Path, default=ROOT / "var" / "models" / "current.tar.gz")
    args = parser.parse_args()
    var = ROOT / "var"
    config = StackConfig(
        model=args.model,
        database_url=os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{var / 'rapport.db'}"),
        log_dir=var / "log",
        chat_port=int(os.environ.get("PORT", 8080)),
        rasa_port=int(os.environ.get("RASA_PORT", 5005)),
        action_port=int(os.environ.get("ACTION_PORT", 5055)),
        secret_key=os.environ.get("SECRET_KEY") or _persistent_secret(var / "secret_key"),
        rasa_token=os.environ.get("RASA_TOKEN") or _persistent_secret(var / "rasa_token"),
        admin_token=os.environ.get("ADMIN_TOKEN") or _persistent_secret(var / "admin_token"),
        # The chat server writes the first admin's one-time password here (once).
        extra_env={"INITIAL_ADMIN_PASSWORD_FILE": str(var / "initial_admin_password")},
    )
    stack = Stack(config)
    # Ctrl-C and SIGTERM both stop all three processes. SIGINT is set explicitly
    # because a shell that starts us in the background leaves it ignored.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print("starting action server, Rasa (loads the model, ~30 s) and chat server...", flush=True)
    try:
        stack.start()
        password_file = var / "initial_admin_password"
        first_login = (
            f"  first login:         admin / {password_file.read_text().strip()} "
            "(one-time password; you choose a new one)\n"
            if password_file.exists() else ""
        )
        print(f"\nRapport is running. Logs: {config.log_dir}/\n"
              f"  demo store + widget: {config.chat_url}/\n"
              f"  agent console:       {config.chat_url}/console\n"
              f"{first_login}"
              f"  health:              {config.chat_url}/healthz\n"
              f"  API token (Bearer):  var/admin_token\n"
              "Press Ctrl-C to stop.", flush=True)
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
