"""Run docker-compose.yml's services as local processes (no container engine here).

The file is read as docker-compose itself resolves it (`docker-compose config`:
variables, anchors, defaults), and each service's command, environment,
health check and dependencies are used **as written**. Only what a container
would provide is mapped:

- service host names and ports → ``127.0.0.1:<free port>`` (each service
  listens on its own port here, so its own port in its command, environment,
  health check and config is rewritten too);
- ``0.0.0.0`` → ``127.0.0.1`` (nothing here listens beyond this machine), and
  a service's fixed network address (``ipv4_address``) → ``127.0.0.1``, where
  every process here connects from;
- paths: a named volume's mount point → a temporary directory; ``/app/models``
  (the model the bot image trains at build time) → a directory holding the
  trained model; ``/app`` (the images' copy of this repository) → the repository;
- ``python`` → the virtualenv of the image the service is built from
  (``bot/Dockerfile``: .venv-bot, ``chat_server/Dockerfile``: .venv), and the
  working directory → the image's last ``WORKDIR``, mapped;
- PostgreSQL and Redis are the real servers of this machine (``external``);
  the nginx image is the local ``/usr/sbin/nginx`` with the mounted
  configuration file, mapped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dev.devstack import ROOT, free_port

VENVS = {"bot/Dockerfile": ROOT / ".venv-bot", "chat_server/Dockerfile": ROOT / ".venv"}
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def resolved_config(env: Mapping[str, str]) -> dict[str, Any]:
    """docker-compose.yml as docker-compose resolves it with ``env``."""
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is not installed (make test installs it)"
    result = subprocess.run(
        [exe, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def as_list(command: Any) -> list[str]:
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def own_port(service: dict[str, Any]) -> int | None:
    """The port a service listens on inside its container, read from its health check."""
    test = " ".join(as_list(service.get("healthcheck", {}).get("test")))
    found = re.search(r"127\.0\.0\.1:(\d+)", test)
    return int(found.group(1)) if found else None


def image_command(dockerfile: str) -> list[str]:
    """The CMD of a Dockerfile (what a service without ``command`` runs)."""
    lines = (ROOT / dockerfile).read_text().splitlines()
    cmds = [line.split(None, 1)[1] for line in lines if line.startswith("CMD ")]
    assert cmds, f"{dockerfile} has no CMD"
    parsed = json.loads(cmds[-1])
    return [str(arg) for arg in parsed]


def workdir(dockerfile: str) -> str:
    """The last WORKDIR of a Dockerfile (the directory its command runs in)."""
    lines = (ROOT / dockerfile).read_text().splitlines()
    dirs = [line.split(None, 1)[1].strip() for line in lines if line.startswith("WORKDIR ")]
    return dirs[-1] if dirs else "/"


@dataclass
class LocalCompose:
    """The services of a resolved compose file, started as local processes."""

    config: dict[str, Any]
    tmp: Path
    model: Path
    # Services provided by this machine: name -> "127.0.0.1:<port>".
    external: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        services = self.config["services"]
        for name, service in services.items():
            if name not in self.external and own_port(service) is not None:
                self.ports[name] = free_port()
        self.models = self.tmp / "models"
        self.models.mkdir(exist_ok=True)
        (self.models / self.model.name).symlink_to(self.model.resolve())
        self.volumes: dict[str, Path] = {}
        for name in self.config.get("volumes") or {}:
            self.volumes[name] = self.tmp / "volumes" / name
            self.volumes[name].mkdir(parents=True, exist_ok=True)

    # -- mapping ------------------------------------------------------------

    def address(self, name: str) -> str:
        return self.external.get(name) or f"127.0.0.1:{self.ports[name]}"

    def map_text(self, service: str, text: str) -> str:
        """Host names, own port, bind address and paths of ``text``, as they are here."""
        for name, spec in self.config["services"].items():
            port = own_port(spec) or {"postgres": 5432, "redis": 6379}.get(name)
            if port is not None and (name in self.ports or name in self.external):
                text = re.sub(rf"\b{re.escape(name)}:{port}\b", self.address(name), text)
        me = self.config["services"][service]
        port = own_port(me)
        if port is not None and service in self.ports:
            text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{self.ports[service]}")
        text = text.replace("0.0.0.0", "127.0.0.1")  # noqa: S104 - the opposite: bind locally
        for fixed in self.fixed_addresses():
            text = re.sub(rf"(?<![\d.]){re.escape(fixed)}(?![\d.])", "127.0.0.1", text)
        for mount in me.get("volumes") or []:
            source, target = self.mount(mount)
            text = text.replace(target, str(source))
        text = text.replace("/app/models", str(self.models))
        return re.sub(r"/app\b", str(ROOT), text)

    def fixed_addresses(self) -> set[str]:
        """The ``ipv4_address`` every service is given on its networks."""
        found = set()
        for spec in self.config["services"].values():
            networks = spec.get("networks")
            if isinstance(networks, dict):
                for attachment in networks.values():
                    if attachment and attachment.get("ipv4_address"):
                        found.add(str(attachment["ipv4_address"]))
        return found

    def mount(self, mount: Any) -> tuple[Path, str]:
        if isinstance(mount, dict):
            source, target = str(mount.get("source")), str(mount["target"])
        else:
            parts = str(mount).split(":")
            source, target = parts[0], parts[1]
        named = self.volumes.get(source)
        return (named if named is not None else (ROOT / source).resolve()), target

    def map_args(self, service: str, args: list[str]) -> list[str]:
        spec = self.config["services"][service]
        port = own_port(spec)
        dockerfile = (spec.get("build") or {}).get("dockerfile")
        mapped = []
        for arg in args:
            if port is not None and arg == str(port):
                arg = str(self.ports[service])
            elif arg == "python" and dockerfile in VENVS:
                arg = str(VENVS[dockerfile] / "bin" / "python")
            mapped.append(self.map_text(service, arg))
        return mapped

    def environment(self, service: str) -> dict[str, str]:
        spec = self.config["services"][service]
        port = own_port(spec)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "PYTEST"))}
        for key, value in (spec.get("environment") or {}).items():
            value = "" if value is None else str(value)
            if port is not None and value == str(port):
                value = str(self.ports[service])
            env[key] = self.map_text(service, value)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    # -- processes ----------------------------------------------------------------

    def command(self, service: str) -> tuple[list[str], Path]:
        spec = self.config["services"][service]
        build = spec.get("build")
        if build is None and str(spec.get("image", "")).startswith("nginx"):
            return self.nginx(service), self.tmp
        assert build is not None, f"{service}: no build and no local stand-in for its image"
        args = as_list(spec.get("command")) or image_command(build["dockerfile"])
        cwd = Path(self.map_text(service, workdir(build["dockerfile"])))
        return self.map_args(service, args), cwd

    def nginx(self, service: str) -> list[str]:
        spec = self.config["services"][service]
        conf = next(
            self.mount(m)[0]
            for m in spec.get("volumes") or []
            if self.mount(m)[1] == "/etc/nginx/nginx.conf"
        )
        text = self.map_text(service, conf.read_text())
        # Its own port and its temp files, as the container's would be.
        port = own_port(spec)
        text = re.sub(rf"listen\s+{port};", f"listen 127.0.0.1:{self.ports[service]};", text)
        text = text.replace("/tmp/", f"{self.tmp}/nginx-")  # noqa: S108 - the container's /tmp
        rendered = self.tmp / f"{service}.nginx.conf"
        rendered.write_text(text)
        return [NGINX, "-e", "stderr", "-c", str(rendered), "-g", "daemon off;"]

    def start(self, service: str) -> None:
        args, cwd = self.command(service)
        with open(self.tmp / f"{service}.log", "ab") as log:
            self.procs[service] = subprocess.Popen(
                args,
                cwd=cwd,
                env=self.environment(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def healthy(self, service: str) -> bool:
        spec = self.config["services"][service]
        test = as_list(spec.get("healthcheck", {}).get("test"))
        assert test and test[0] == "CMD", f"{service}: health check must be CMD [...]"
        args = self.map_args(service, test[1:])
        result = subprocess.run(args, capture_output=True, timeout=30, check=False)
        return result.returncode == 0

    def wait(self, service: str, condition: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        proc = self.procs[service]
        while time.monotonic() < deadline:
            code = proc.poll()
            if condition == "service_completed_successfully":
                if code is not None:
                    assert code == 0, f"{service} exited {code}: {self.log(service)}"
                    return
            else:
                assert code is None, f"{service} exited {code}: {self.log(service)}"
                if self.healthy(service):
                    return
            time.sleep(0.5)
        raise TimeoutError(f"{service} not {condition} after {timeout}s: {self.log(service)}")

    def log(self, service: str) -> str:
        path = self.tmp / f"{service}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def order(self) -> list[str]:
        """Services in an order that starts every dependency first."""
        services = self.config["services"]
        done: list[str] = []

        def visit(name: str, path: tuple[str, ...] = ()) -> None:
            assert name not in path, f"dependency cycle: {path}"
            if name in done:
                return
            for dep in services[name].get("depends_on") or {}:
                visit(dep, (*path, name))
            done.append(name)

        for name in services:
            visit(name)
        return done

    def up(self, timeout: float = 300) -> None:
        """Start every service after its dependencies met their conditions."""
        services = self.config["services"]
        waited: set[tuple[str, str]] = set()
        for name in self.order():
            for dep, rule in (services[name].get("depends_on") or {}).items():
                condition = (rule or {}).get("condition", "service_started")
                if dep in self.external or (dep, condition) in waited:
                    continue
                if condition != "service_started":
                    self.wait(dep, condition, timeout)
                waited.add((dep, condition))
            if name not in self.external:
                self.start(name)
        for name, spec in services.items():
            if (
                name not in self.external
                and "healthcheck" in spec
                and (name, "service_healthy") not in waited
            ):
                self.wait(name, "service_healthy", timeout)

    def down(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
