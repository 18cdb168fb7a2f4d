"""Agents' passwords: argon2id at RFC 9106's second recommended profile, checked
off the event loop (chat_server/services/agents.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher, Type

from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.services import agents
from chat_server.services.agents import AgentService, AuthError


def test_production_parameters() -> None:
    """What the server hashes with (the in-process tests swap in a cheaper hasher:
    tests/conftest.py; the module's own default is checked here)."""
    default = agents.PRODUCTION_HASHER
    assert default.type is Type.ID
    assert (default.time_cost, default.memory_cost, default.parallelism) == (3, 65536, 4)


class Spy(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.threads: list[int] = []

    def hash(self, password: Any, *, salt: bytes | None = None) -> str:
        self.threads.append(threading.get_ident())
        return super().hash(password, salt=salt)

    def verify(self, hash: Any, password: Any) -> Literal[True]:
        self.threads.append(threading.get_ident())
        return super().verify(hash, password)


async def test_hashing_and_checking_run_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy()
    monkeypatch.setattr(agents, "_hasher", spy)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    try:
        await upgrade_to_head(engine)
        service = AgentService(create_sessionmaker(engine), 30, None)
        await service.create("ada", "a long password 1", "Ada", "agent", 3)
        login = await service.login("ada", "a long password 1")
        with pytest.raises(AuthError):
            await service.login("ada", "wrong password 12")
        await service.change_password(login.agent.id, "a long password 1", "another password 2")
    finally:
        await engine.dispose()
    assert len(spy.threads) == 5  # hash, check, check, check, hash
    assert threading.get_ident() not in spy.threads
