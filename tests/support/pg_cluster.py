"""A throwaway PostgreSQL cluster a test owns: it may stop and start it at will.

The shared server on 127.0.0.1:5432 is never stopped; outage tests that need
the real "the database system is shutting down" or a fast shutdown run their
own cluster (``initdb`` + ``pg_ctl`` from the PostgreSQL 15 binaries) on a
free loopback port, in a temporary directory removed afterwards. PostgreSQL
refuses to run as root, so as root the cluster runs as the ``postgres`` user.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from dev.devstack import free_port

PG_BIN = Path(os.environ.get("RAPPORT_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()


class PgCluster:
    """``async with PgCluster() as cluster``: running; ``cluster.url(db)`` to connect."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self._as_postgres = os.geteuid() == 0

    def url(self, database: str = "postgres", driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(a) for a in args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args, check=check)

    async def __aenter__(self) -> PgCluster:
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        await asyncio.to_thread(
            self._run,
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        await self.start()
        return self

    async def start(self) -> None:
        """Start (again) and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.dir} -c fsync=off -c max_connections=30"
        )
        await asyncio.to_thread(self._pg_ctl, "start", "-w", "-l", str(self.log), "-o", options)

    async def stop(self, mode: str = "fast", wait: bool = True) -> None:
        """``pg_ctl stop -m <mode>``; ``wait=False`` returns while it is shutting down."""
        await asyncio.to_thread(self._pg_ctl, "stop", "-m", mode, "-w" if wait else "-W")

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self._pg_ctl, "stop", "-m", "immediate", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
