"""The OpenAPI document states every constraint the server enforces (schemathesis).

One real chat server process on a real SQLite file (Rasa and the action
server pointed at closed ports on 127.0.0.1), an admin agent with an API
token, a victim agent, a visitor with a conversation and a canned response.
Then schemathesis (the ``st`` CLI) reads ``/api/openapi.json`` and runs its
examples, coverage and fuzzing phases against every operation, with checks:

- ``not_a_server_error``: no 5xx for anything, valid or not;
- ``positive_data_acceptance``: a request the document calls valid is never
  refused with 400/422 (the document omits no constraint the server enforces);
- ``response_schema_conformance``: responses match the document's schemas.

Left out: /api/webhooks* (the server would dial the generated URLs: every
connection goes to 127.0.0.1), and the caller's own credential routes
(sign out everywhere, a new API token), which would revoke the token the run
uses. The admin routes on /api/agents/{id}/... run against the victim only.

``RAPPORT_SCHEMA_EXAMPLES=<n>`` sets the examples per operation and phase.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dev.devstack import free_port
from tests.support.agents import admin_and_victim
from tests.support.server_process import loopback_env, wait_serving
from tests.support.visitor import Visitor

# Hundreds of generated requests: the full tier only (make test-fast skips it).
pytestmark = pytest.mark.slow

ADMIN_TOKEN = "schema-admin-token-0123456789"
EXAMPLES = int(os.environ.get("RAPPORT_SCHEMA_EXAMPLES", "0")) or 10
CHECKS = "not_a_server_error,positive_data_acceptance,response_schema_conformance"
# Webhooks make the server dial the URLs it is given; the caller's own
# sign-out-everywhere and new-token routes revoke the token this run uses.
EXCLUDED_PATHS = r"^/api/(webhooks|me/sign-out-everywhere$|me/token$)"


@dataclass
class Seed:
    base_url: str
    token: str
    victim_id: int
    conversation_id: int
    visitor_id: str
    canned_id: int
    campaign_id: int


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    tmp = tmp_path_factory.mktemp("schema")
    port = free_port()
    database = tmp / "schema.db"
    env = loopback_env(
        database,
        port,
        SECRET_KEY="schema-secret-key-0123456789",
        ADMIN_TOKEN=ADMIN_TOKEN,
        IDENTITY_SECRET="schema-identity-secret",
    )
    log = tmp / "chat.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chat_server"],
            cwd=tmp,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}", database, log
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _seed(base_url: str, database: Path, visitor: Visitor) -> Seed:
    """Agents, a canned response, and ``visitor`` on the site with a conversation."""
    await wait_serving(base_url)
    agent, victim = await admin_and_victim(base_url, ADMIN_TOKEN, "Schema")
    try:
        token = await agent.api_token()
        status, body = await agent.call(
            "POST", "/api/canned-responses", {"shortcut": "hello", "text": "Hello {{contact.name}}"}
        )
        assert status == 201, body
        canned_id = int(body["canned_response"]["id"])
    finally:
        await agent.close()
    await visitor.connect(base_url)
    await visitor.say("hello", quiet=0.2)
    visitor_id = visitor.visitor_id
    with sqlite3.connect(database) as conn:
        conversation_id = int(conn.execute("SELECT max(id) FROM conversations").fetchone()[0])
        # A campaign with an experiment, for its results routes.
        campaign_id = conn.execute(
            "INSERT INTO campaigns (name, status, kind, rules, variants, holdout, goal,"
            " created_at, updated_at) VALUES ('Schema', 'running', 'nps', '{}',"
            """ '[{"key": "A", "weight": 1, "content": {"question": "?"}}]', 0.1,"""
            """ '{"type": "nps", "window_hours": 24}', datetime('now'), datetime('now'))"""
        ).lastrowid
    return Seed(
        base_url,
        token,
        int(victim["id"]),
        conversation_id,
        visitor_id,
        canned_id,
        int(campaign_id or 0),
    )


def _config(seed: Seed) -> str:
    """schemathesis.toml: the token, and the seeded rows as likely path values."""
    ids = {
        "conversations": seed.conversation_id,
        "canned": seed.canned_id,
        "campaigns": seed.campaign_id,
    }
    lines = [
        "seed = 20261206",
        f'headers = {{ Authorization = "Bearer {seed.token}" }}',
        # A cursor is a token the server gave out (the document says so): a made-up
        # one is rightly a 400 (tests/integration/test_fuzz.py sends those), so
        # every list is asked for its first page.
        "[parameters]",
        '"query.cursor" = ""',
        # The document has no examples of its own: the examples phase makes one
        # per operation from the schemas.
        "[phases.examples]",
        "fill-missing = true",
        "[generation]",
        f"max-examples = {EXAMPLES}",
        "[dictionaries.visitors]",
        f'values = ["{seed.visitor_id}"]',
        *(
            line
            for name, value in ids.items()
            for line in (f"[dictionaries.{name}]", f"values = [{value}]")
        ),
        # Half the cases use the seeded row, so the handlers' deeper paths run.
        *_operation(
            r"^/api/conversations/\\{id\\}", '{ dictionary = "conversations", probability = 0.5 }'
        ),
        *_operation(
            r"^/api/canned-responses/\\{id\\}", '{ dictionary = "canned", probability = 0.5 }'
        ),
        *_operation(
            r"^/api/campaigns/\\{id\\}/", '{ dictionary = "campaigns", probability = 0.5 }'
        ),
        # Never the admin itself: a reset password or a deactivation would lock the run out.
        *_operation(r"^/api/agents/\\{id\\}/", str(seed.victim_id)),
    ]
    lines += [
        # 'from' must be before 'to' (at most 400 days apart): a rule between two
        # parameters that JSON Schema cannot state, so the document says it in
        # words and the server keeps its 400. The dates are pinned; every other
        # analytics parameter is still generated and checked.
        "[[operations]]",
        'include-path-regex = "^/api/analytics/"',
        'parameters = { "query.from" = "2026-01-01T00:00:00Z", '
        '"query.to" = "2026-02-01T00:00:00Z" }',
        # The conversion API takes the operator's token (or CONVERSIONS_API_TOKEN) only.
        "[[operations]]",
        'include-path = "/api/conversions"',
        f'headers = {{ Authorization = "Bearer {ADMIN_TOKEN}" }}',
        # A campaign's variant weights must add up to 1, a conversion goal must be one of
        # CONVERSION_GOALS, globs and regexes must compile, the segment and agent must
        # exist: rules across fields and rows that JSON Schema cannot state. The document
        # says so in words and the server answers 400 with field-level errors
        # (tests/integration/test_campaigns_api.py checks each); every other check,
        # no 5xx above all, still runs on these operations.
        "[[operations]]",
        'include-path-regex = "^/api/campaigns"',
        "checks.positive_data_acceptance.expected-statuses = "
        '["2xx", "400", "401", "403", "404", "409"]',
        "[[operations]]",
        r'include-path-regex = "^/api/visitors/\\{visitor_id\\}/"',
        'parameters = { "path.visitor_id" = { dictionary = "visitors", probability = 0.5 } }',
    ]
    return "\n".join(lines) + "\n"


def _operation(path_regex: str, id_value: str) -> list[str]:
    return [
        "[[operations]]",
        f'include-path-regex = "{path_regex}"',
        f'parameters = {{ "path.id" = {id_value} }}',
    ]


def run_schemathesis(base_url: str, config: Path, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("st")),
            "--config-file",
            str(config),
            "--no-color",
            "run",
            f"{base_url}/api/openapi.json",
            "--phases",
            "examples,coverage,fuzzing",
            "--checks",
            CHECKS,
            "--exclude-path-regex",
            EXCLUDED_PATHS,
            "--workers",
            "1",
            "--continue-on-failure",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=config.parent,
    )


def test_every_schema_valid_request_is_accepted(
    server: tuple[str, Path, Path], tmp_path: Path
) -> None:
    base_url, database, log = server
    config = tmp_path / "schemathesis.toml"

    async def scenario() -> subprocess.CompletedProcess[str]:
        # The visitor stays on the site during the run (agents may start a chat with it).
        visitor = Visitor(rapport=True)
        try:
            config.write_text(_config(await _seed(base_url, database, visitor)))
            return await asyncio.to_thread(
                run_schemathesis, base_url, config, tmp_path / "events.ndjson"
            )
        finally:
            await visitor.close()

    started = time.monotonic()
    result = asyncio.run(scenario())
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    summary = "\n".join(output.splitlines()[-40:])
    print(f"schemathesis: {elapsed:.0f} s\n{summary}")
    (tmp_path / "schemathesis.out").write_text(output)
    assert result.returncode == 0, output[-20000:]
    # The run really sent requests (a filter gone wrong must not pass silently).
    counted = re.search(r"(\d+) generated", output)
    assert counted and int(counted.group(1)) >= 500, summary
    # Logged errors, except aiohttp's own log of requests its HTTP parser refused
    # (schemathesis probes a NUL in a header): those never reach the application.
    errors = [
        r
        for r in re.split(r"\n(?=\d{4}-\d\d-\d\d )", log.read_text(errors="replace"))
        if ("Traceback" in r or " ERROR " in r) and "aiohttp.http_exceptions." not in r
    ]
    assert errors == [], errors[:3]


def test_webhooks_stay_out_of_the_run() -> None:
    """The exclusion matches what it must (and only that)."""
    excluded = re.compile(EXCLUDED_PATHS)
    assert excluded.match("/api/webhooks") and excluded.match("/api/webhooks/{id}/test")
    assert excluded.match("/api/me/sign-out-everywhere") and excluded.match("/api/me/token")
    assert not excluded.match("/api/me") and not excluded.match("/api/me/password")
    assert not excluded.match("/api/agents/{id}/sign-out-everywhere")
