"""Shared fixtures: the real stack (action server + Rasa + chat server)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dev.devstack import ROOT, Stack, StackConfig, free_port


def trained_model() -> Path:
    """The model `make test` trained (RAPPORT_MODEL), else train/reuse the cached one."""
    if os.environ.get("RAPPORT_MODEL"):
        return Path(os.environ["RAPPORT_MODEL"])
    out = subprocess.run(
        [str(ROOT / "scripts" / "train.sh")], check=True, capture_output=True, text=True
    )
    return ROOT / out.stdout.strip().splitlines()[-1]


def make_stack(tmp: Path, **extra: str) -> Stack:
    return Stack(
        StackConfig(
            model=trained_model(),
            database_url=f"sqlite+aiosqlite:///{tmp / 'rapport.db'}",
            log_dir=tmp / "log",
            chat_port=free_port(),
            rasa_port=free_port(),
            action_port=free_port(),
            # Agents whose console drops are requeued after 3 s, not 60, so the
            # disconnect test does not wait a minute.
            extra_env={"AGENT_GRACE_SECONDS": "3", **extra},
        )
    )


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One real stack shared by the tests that only talk to it."""
    with make_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack
