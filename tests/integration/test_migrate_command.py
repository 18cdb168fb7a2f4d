"""``python -m chat_server.db.migrate`` says what it did: created the schema,
upgraded it from one revision to another, or found it current."""

from __future__ import annotations

import os
import subprocess
import sys

from alembic.script import ScriptDirectory

from chat_server.db.migrate import alembic_config
from dev.devstack import ROOT

SCRIPTS = ScriptDirectory.from_config(alembic_config())
HEAD = SCRIPTS.get_current_head()


def run(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_migrate_says_what_it_did(database_url: str) -> None:
    created = run("-m", "chat_server.db.migrate", database_url=database_url)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"created the schema at revision {HEAD}"

    again = run("-m", "chat_server.db.migrate", database_url=database_url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"the schema is already at revision {HEAD} (nothing to do)"


def test_migrate_names_both_revisions_of_an_upgrade(database_url: str) -> None:
    assert HEAD is not None
    head = SCRIPTS.get_revision(HEAD)
    assert head is not None and isinstance(head.down_revision, str)
    older = head.down_revision
    # An older release's schema, built by Alembic itself.
    setup = run("-m", "alembic", "upgrade", older, database_url=database_url)
    assert setup.returncode == 0, setup.stderr

    upgraded = run("-m", "chat_server.db.migrate", database_url=database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"upgraded the schema from revision {older} to {HEAD}"
