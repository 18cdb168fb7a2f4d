"""Shared fixtures: the real stack (action server + Rasa + chat server)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dev.devstack import ROOT, Stack, StackConfig, free_port
from tests.support.limits import GENEROUS_LIMITS_ENV
from tests.support.origins import THIRD_PARTY_ORIGIN


def trained_model() -> Path:
    """The model `make test` trained (RAPPORT_MODEL), else train/reuse the cached one."""
    if os.environ.get("RAPPORT_MODEL"):
        return Path(os.environ["RAPPORT_MODEL"])
    out = subprocess.run(
        [str(ROOT / "scripts" / "train.sh")], check=True, capture_output=True, text=True
    )
    return ROOT / out.stdout.strip().splitlines()[-1]


# Agents whose console drops are requeued after 3 s, not 60, so the disconnect
# test does not wait a minute. Many tests connect from 127.0.0.1 within
# seconds: the rate limits are raised here and tested on their own
# (tests/integration/test_limits.py). The identity secret lets tests sign
# customer claims; the rasa-webchat page is served from a second origin.
IDENTITY_SECRET = "live-stack-identity-secret"
LIVE_STACK_ENV = {
    "AGENT_GRACE_SECONDS": "3",
    "ALLOWED_ORIGINS": THIRD_PARTY_ORIGIN,
    # Tests receive webhooks on 127.0.0.1 and watch retries without waiting long.
    "WEBHOOK_ALLOW_PRIVATE": "true",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.5",
    **GENEROUS_LIMITS_ENV,
}


def make_stack(tmp: Path, **extra: str) -> Stack:
    return Stack(
        StackConfig(
            model=trained_model(),
            database_url=f"sqlite+aiosqlite:///{tmp / 'rapport.db'}",
            log_dir=tmp / "log",
            chat_port=free_port(),
            rasa_port=free_port(),
            action_port=free_port(),
            identity_secret=IDENTITY_SECRET,
            extra_env={**LIVE_STACK_ENV, **extra},
        )
    )


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One real stack shared by the tests that only talk to it."""
    with make_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack
