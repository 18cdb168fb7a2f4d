"""Property-based fuzzing of every socket event, the handshake and every REST route.

One real chat server process (``python -m chat_server``) on a real SQLite
file, with Rasa and the action server pointed at closed ports: the server
then answers visitors "the assistant is unavailable" — a real path of the
product — and the fuzzing does not wait seconds per message for the slow
live Rasa stack. Hostile input is rejected before anything reaches Rasa
anyway, so a live bot would add time, not coverage.

Properties (hypothesis, derandomized so CI sees the same cases each run):

- every bad case gets a clear refusal: an ``error`` event / a ``{"ok": false,
  code, message}`` ack on sockets, a 4xx ``{"error", "message"}`` JSON body on
  REST; never ``internal_error``, never a 5xx, never stack text, never silence
  for an event sent with an ack;
- nothing corrupt is stored: rows appear only for accepted events, and
  stored text is well-formed;
- the server keeps answering (a liveness probe between batches, a valid
  message answered after each barrage) and logs no traceback;
- memory stays flat: the process's RSS after a repeated barrage.

``RAPPORT_FUZZ_EXAMPLES=<n>`` sets the examples per fuzz target; the
defaults keep the module around a minute in ``make test``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from chat_server.db import paging
from chat_server.protocol.text import INVISIBLE
from chat_server.services.campaigns.service import ORDERING as CAMPAIGN_ORDERING
from chat_server.verification import user_hash
from dev.devstack import free_port
from tests.support import fuzz
from tests.support.agents import AgentClient, admin_and_victim
from tests.support.server_process import loopback_env, wait_serving
from tests.support.visitor import Visitor

# Thousands of generated cases: the full tier only (make test-fast skips them).
pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("RAPPORT_FUZZ_EXAMPLES", "0")) or None
SECRET_KEY = "fuzz-secret-key-0123456789"
ADMIN_TOKEN = "fuzz-admin-token-0123456789"
IDENTITY_SECRET = "fuzz-identity-secret"
MAX_FRAME = 60_000  # bytes; the server refuses frames over 64 KiB (tested on its own)

VISITOR_CODES = {
    "invalid_payload",
    "empty_message",
    "message_too_long",
    "invalid_session",
    "identity_rejected",
    "unknown_product",
    "unknown_event",
}
AGENT_CODES = {
    "invalid",
    "not_found",
    "conflict",
    "forbidden",
    "unauthenticated",
    "unknown_event",
    "invalid_payload",
}
STACK_TEXT = re.compile(r"Traceback|File \"|\bline \d+, in\b|Error:|Exception", re.IGNORECASE)
PRODUCTS = ["swift-trail-runner", "cloudline-road", "tempo-flyer"]

T = TypeVar("T")


def examples(default: int) -> int:
    return EXAMPLES or default


def run_hypothesis(strategy: st.SearchStrategy[Any], check: Callable[[Any], None], n: int) -> None:
    """Run ``check`` on ``n`` derandomized examples of ``strategy`` (shrinking on failure)."""

    @settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: Any) -> None:
        check(case)

    run()


def no_stack_text(value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, default=repr)
    assert not STACK_TEXT.search(text), f"stack text reaches the client: {text[:300]}"


class LoopThread:
    """An event loop in a thread: hypothesis drives sync code, the clients are async."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Target:
    """The server under fuzz and the clients that talk to it."""

    base_url: str
    process: subprocess.Popen[bytes]
    database: Path
    log: Path
    runner: LoopThread
    agent: AgentClient | None = None
    visitor: Visitor | None = None
    token: str = ""
    rss_at_start: int = 0
    conversation_id: int = 0
    # Account routes (/api/agents/{id}/..., sign out everywhere) revoke
    # credentials: they are fuzzed against this second agent, never against
    # the fuzzing admin, whose token and socket the other cases use.
    victim_id: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as conn:
            return conn.execute(sql, args).fetchall()

    def count(self, sql: str, *args: Any) -> int:
        return int(self.rows(sql, *args)[0][0])

    def tracebacks(self) -> list[str]:
        """Logged errors, except aiohttp's own log of requests its HTTP parser refused
        (over-long headers): those never reach the application."""
        records = re.split(r"\n(?=\d{4}-\d\d-\d\d )", self.log.read_text(errors="replace"))
        return [
            r
            for r in records
            if ("Traceback" in r or " ERROR " in r) and "aiohttp.http_exceptions." not in r
        ]


async def new_visitor(base_url: str) -> Visitor:
    visitor = Visitor(rapport=True)
    await visitor.connect(base_url)
    return visitor


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    database = tmp / "fuzz.db"
    env = loopback_env(
        database,
        port,
        SECRET_KEY=SECRET_KEY,
        ADMIN_TOKEN=ADMIN_TOKEN,
        IDENTITY_SECRET=IDENTITY_SECRET,
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
    t = Target(f"http://127.0.0.1:{port}", process, database, log, LoopThread())
    try:
        t.run(wait_serving(t.base_url, t.process, t.log))
        t.run(_set_up_clients(t))
        t.rss_at_start = t.rss_kib()
        yield t
    finally:
        t.run(_close_clients(t))
        t.runner.close()
        process.terminate()
        stopping = time.monotonic()
        try:
            process.wait(20)
            print(f"server stopped in {time.monotonic() - stopping:.1f} s")
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
            raise AssertionError(f"no stop on SIGTERM; the log ends:\n{tail}") from None


async def _set_up_clients(t: Target) -> None:
    t.agent, victim = await admin_and_victim(t.base_url, ADMIN_TOKEN, "Fuzz")
    t.victim_id = int(victim["id"])
    t.token = await t.agent.api_token()
    await t.agent.connect()
    t.visitor = await new_visitor(t.base_url)
    # One real conversation, so valid ids reach the handlers' deeper paths.
    await t.visitor.say("hello", quiet=0.2)
    t.conversation_id = t.count("SELECT max(id) FROM conversations")


async def _close_clients(t: Target) -> None:
    if t.visitor is not None and t.visitor.sio.connected:
        await t.visitor.close()
    if t.agent is not None:
        await t.agent.close()


async def probe(t: Target) -> None:
    """Liveness: REST answers, and a fresh visitor's valid message is answered."""
    async with aiohttp.ClientSession() as http, http.get(f"{t.base_url}/api/openapi.json") as resp:
        assert resp.status == 200
    visitor = await new_visitor(t.base_url)
    try:
        replies = await visitor.say("is anyone there?", quiet=0.1, timeout=15)
        assert replies and replies[0].get("text"), replies
    finally:
        await visitor.close()
    t.counts["probes"] += 1


def every(t: Target, name: str, n: int = 250) -> None:
    """Count one case; probe liveness every ``n`` cases."""
    t.counts[name] += 1
    if t.counts[name] % n == 0:
        t.run(probe(t))


# -- visitor events -------------------------------------------------------------------

identity = st.fixed_dictionaries(
    {},
    optional={
        "user_id": st.one_of(st.just("customer-1"), fuzz.json_values()),
        "user_hash": st.one_of(
            st.just(user_hash(IDENTITY_SECRET, "customer-1")), fuzz.json_values()
        ),
        "name": fuzz.json_values(),
        "email": st.one_of(st.just("ada@example.com"), fuzz.json_values()),
    },
)
VISITOR_VALID: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "session_request": {
        "session_id": st.one_of(st.none(), fuzz.text_values()),
        "rapport": st.just(1),
        "identity": identity,
    },
    "user_uttered": {
        "message": st.one_of(st.just("hello"), fuzz.nasty_text(), fuzz.text_values()),
        "session_id": st.none(),
        "customData": st.fixed_dictionaries(
            {
                "page_url": st.one_of(
                    st.just("https://shop.example/x"), fuzz.text_values().map("https://".__add__)
                )
            }
        ),
    },
    "card_clicked": {
        "product_id": st.one_of(st.sampled_from(PRODUCTS), fuzz.text_values()),
        "session_id": st.none(),
    },
    "visitor_typing": {"typing": st.booleans()},
    "csat_submitted": {
        "conversation_id": st.one_of(st.just(1), fuzz.int_values()),
        "score": st.one_of(st.integers(1, 5), fuzz.int_values()),
        "comment": st.one_of(st.none(), fuzz.text_values()),
    },
}
visitor_cases = st.one_of(
    *[st.tuples(st.just(event), fuzz.payloads(valid)) for event, valid in VISITOR_VALID.items()],
    st.tuples(
        st.sampled_from(["connect", "disconnect", "bot_uttered", "x" * 300, ""]), fuzz.json_values()
    ),
)


def frame_size(payload: Any) -> int:
    return len(
        json.dumps(payload, default=lambda b: "x" * len(b) * 4).encode("utf-8", "surrogatepass")
    )


async def visitor_case(t: Target, event: str, payload: Any) -> None:
    visitor = t.visitor
    assert visitor is not None
    if not visitor.sio.connected:  # e.g. a `disconnect` event name closed it client-side
        t.visitor = visitor = await new_visitor(t.base_url)
    before = t.count("SELECT count(*) FROM messages WHERE direction = 'visitor'")
    mark = len(visitor.log)
    ack = await visitor.sio.call(event, payload, timeout=15)
    errors = visitor.seen("error", mark)
    for error in errors:
        assert isinstance(error, dict) and set(error) == {"code", "message"}, error
        # (rate_limited would add retry_after; the limits are lifted here)
        assert error["code"] in VISITOR_CODES, (event, error)
        assert isinstance(error["message"], str) and error["message"]
        no_stack_text(error)
    if isinstance(ack, dict) and ack.get("ok") is True:
        # Stored: the ack names the message (docs/protocol.md, delivery).
        assert event == "user_uttered" and not errors, (event, ack)
        assert isinstance(ack["message_id"], int) and ack["duplicate"] in (True, False)
    elif ack is not None:
        assert ack.get("ok") is False and ack.get("code") in VISITOR_CODES, ack
        assert errors, "a refused ack comes with an error event"
    stored = t.count("SELECT count(*) FROM messages WHERE direction = 'visitor'") - before
    if event == "user_uttered":
        assert stored == (0 if errors else 1), (payload, errors)
        t.counts["visitor_accepted" if not errors else "visitor_refused"] += 1
    else:
        assert stored == 0
    if event == "session_request":
        assert visitor.seen("session_confirm", mark), "session_request is always answered"
    if event not in VISITOR_VALID:  # "connect", "disconnect" and names the server lacks
        assert [e["code"] for e in errors] == ["unknown_event"], (event, errors)


def check_visitor(t: Target) -> Callable[[tuple[str, Any]], None]:
    def check(case: tuple[str, Any]) -> None:
        event, payload = case
        if frame_size(payload) > MAX_FRAME:
            return  # over the frame limit: test_oversized_frame_closes_only_that_socket
        t.run(visitor_case(t, event, payload))
        every(t, "visitor")

    return check


def assert_stored_text_well_formed(t: Target) -> None:
    texts = t.rows("SELECT text FROM messages WHERE text IS NOT NULL")
    texts += t.rows("SELECT coalesce(name, '') || coalesce(email, '') FROM visitors")
    texts += t.rows("SELECT display_name || username FROM agents")
    texts += t.rows("SELECT coalesce(csat_comment, '') FROM conversations")
    for (text,) in texts:
        assert isinstance(text, str) and "\x00" not in text
        text.encode("utf-8")  # no lone surrogate
    for (text,) in t.rows("SELECT text FROM messages WHERE direction = 'visitor'"):
        assert 0 < len(text) <= 2000 and text.translate(INVISIBLE).strip(), repr(text)


def test_visitor_events(target: Target) -> None:
    start = target.counts["visitor"]
    run_hypothesis(visitor_cases, check_visitor(target), examples(500))
    target.run(probe(target))
    assert_stored_text_well_formed(target)
    assert target.counts["visitor"] - start >= examples(500) // 2
    assert target.tracebacks() == []


# -- agent events ---------------------------------------------------------------------

AGENT_EVENTS = ("watch", "unwatch", "typing", "send_message", "set_status")


def agent_valid(t: Target) -> dict[str, dict[str, st.SearchStrategy[Any]]]:
    conversation = st.one_of(st.just(t.conversation_id), fuzz.int_values())
    return {
        "watch": {"conversation_id": conversation},
        "unwatch": {"conversation_id": conversation},
        "typing": {"conversation_id": conversation, "typing": st.booleans()},
        "send_message": {
            "conversation_id": conversation,
            "text": st.one_of(st.just("hello from fuzz"), fuzz.text_values()),
            "note": st.one_of(st.just(True), st.booleans()),
        },
        "set_status": {"status": st.sampled_from(["online", "away", "offline", "busy"])},
    }


async def agent_case(t: Target, event: str, payload: Any) -> None:
    agent = t.agent
    assert agent is not None and agent.sio is not None
    before = t.count("SELECT count(*) FROM messages WHERE agent_id IS NOT NULL")
    ack = await agent.sio.call(event, payload, namespace="/agent", timeout=15)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    no_stack_text(ack)
    if not ack["ok"]:
        assert ack.get("error") in AGENT_CODES, (event, ack)
        assert isinstance(ack.get("message"), str) and ack["message"]
    stored = t.count("SELECT count(*) FROM messages WHERE agent_id IS NOT NULL") - before
    assert stored == (1 if event == "send_message" and ack["ok"] else 0), (payload, ack)
    if event not in AGENT_EVENTS:
        assert ack["error"] == "unknown_event", (event, ack)
    t.counts["agent_accepted" if ack["ok"] else "agent_refused"] += 1


def check_agent(t: Target) -> Callable[[tuple[str, Any]], None]:
    def check(case: tuple[str, Any]) -> None:
        event, payload = case
        if frame_size(payload) > MAX_FRAME:
            return
        t.run(agent_case(t, event, payload))
        every(t, "agent")

    return check


def agent_cases(t: Target) -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        *[st.tuples(st.just(e), fuzz.payloads(v)) for e, v in agent_valid(t).items()],
        st.tuples(
            st.sampled_from(["accept", "message_created", "__proto__", "connect", "disconnect"]),
            fuzz.json_values(),
        ),
    )


def test_agent_events(target: Target) -> None:
    run_hypothesis(agent_cases(target), check_agent(target), examples(400))
    target.run(probe(target))
    assert_stored_text_well_formed(target)
    assert target.tracebacks() == []


# -- handshake auth ---------------------------------------------------------------------


async def auth_case(t: Target, namespace: str, auth: Any) -> None:
    client = socketio.AsyncClient(reconnection=False)
    try:
        await client.connect(
            t.base_url, namespaces=[namespace], auth=auth, transports=["websocket"], wait_timeout=10
        )
    except socketio.exceptions.ConnectionError as exc:
        await client.disconnect()
        # Socket.IO's handshake auth is an object; a bare number cannot even be
        # encoded unambiguously (its digits read as a packet id): refused as
        # invalid_payload. Any object is fine for the visitor namespace.
        assert namespace == "/agent" or not isinstance(auth, dict), f"/ refused {auth!r}: {exc}"
        no_stack_text(str(exc))
        assert "internal_error" not in str(exc), auth
        t.counts["auth_refused"] += 1
        return
    try:
        valid = isinstance(auth, dict) and auth.get("token") == t.token
        assert namespace == "/" or valid, f"/agent accepted {auth!r}"
        t.counts["auth_accepted"] += 1
    finally:
        await client.disconnect()


def test_handshake_auth(target: Target) -> None:
    auth = st.one_of(
        # The handshake cannot carry binary attachments (the client refuses to send them).
        fuzz.mutated({"token": st.one_of(st.just(target.token), fuzz.text_values())}, False),
        fuzz.json_values(binary=False).filter(lambda v: v is not None),
    )

    def check(case: tuple[str, Any]) -> None:
        namespace, payload = case
        if frame_size(payload) > MAX_FRAME:
            return
        target.run(auth_case(target, namespace, payload))
        every(target, "auth", 100)

    run_hypothesis(
        st.tuples(st.sampled_from(["/agent", "/agent", "/"]), auth), check, examples(100)
    )
    assert target.tracebacks() == []


# -- raw packets: what no well-behaved client would encode -----------------------------------


class RawSocket:
    """A bare engine.io v4 websocket speaking Socket.IO packets as text."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.http = http
        self.ws = ws

    @classmethod
    async def open(cls, base_url: str, namespace: str = "", auth: Any = None) -> RawSocket:
        http = aiohttp.ClientSession()
        url = base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        try:
            ws = await http.ws_connect(url, max_msg_size=0)
        except BaseException:
            await http.close()
            raise
        raw = cls(http, ws)
        try:
            assert (await raw.receive()).startswith("0")
            await ws.send_str(f"40{namespace + ',' if namespace else ''}{json.dumps(auth or {})}")
            while not (await raw.receive()).startswith("40"):
                pass  # events the connect handler published (agent_updated)
        except BaseException:
            await raw.close()
            raise
        return raw

    async def receive(self, timeout: float = 15) -> str:  # noqa: ASYNC109
        while True:
            msg = await self.ws.receive(timeout)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            if msg.data == "2":  # engine.io ping
                await self.ws.send_str("3")
                continue
            return str(msg.data)

    async def exchange(self, packet: str) -> list[str]:
        """Send one packet with ack id 1; return what arrived up to and including the ack."""
        await self.ws.send_str(packet)
        got = []
        while True:
            got.append(await self.receive())
            if re.match(r"^43(/\w+,)?1\[", got[-1]):
                return got

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()


async def raw_case(t: Target, namespace: str, packet: str) -> None:
    auth = {"token": t.token} if namespace else None
    raw = await RawSocket.open(t.base_url, namespace, auth)
    try:
        got = await raw.exchange(packet)
    finally:
        await raw.close()
    acked = json.loads(got[-1][got[-1].index("[") :])
    no_stack_text(got)
    if namespace:
        assert acked[0]["ok"] is False and acked[0]["error"] in AGENT_CODES, acked
    else:
        # Refused with an error event, or (session_request with a readable but
        # odd payload) answered with a fresh session.
        errors = [json.loads(p[2:])[1] for p in got if p.startswith('42["error"')]
        confirmed = any(p.startswith('42["session_confirm"') for p in got)
        assert confirmed or (errors and errors[0]["code"] in VISITOR_CODES), got
        assert not acked or acked[0]["code"] in VISITOR_CODES, got


def test_raw_packets(target: Target) -> None:
    visitor = fuzz.raw_event_packets(list(VISITOR_VALID))
    agent = fuzz.raw_event_packets(list(agent_valid(target)), "/agent")

    def check(case: tuple[str, str]) -> None:
        target.run(raw_case(target, *case))
        every(target, "raw", 100)

    run_hypothesis(
        st.one_of(st.tuples(st.just(""), visitor), st.tuples(st.just("/agent"), agent)),
        check,
        examples(100),
    )
    target.run(probe(target))
    assert target.tracebacks() == []


def test_oversized_frame_closes_only_that_socket(target: Target) -> None:
    async def scenario() -> None:
        raw = await RawSocket.open(target.base_url)
        try:
            await raw.ws.send_str('421["user_uttered",{"message":"' + "a" * 70_000 + '"}]')
            msg = await raw.ws.receive(15)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
        finally:
            await raw.close()
        await probe(target)

    target.run(scenario())


# -- REST -----------------------------------------------------------------------------

# A campaign (services/campaigns/rules.py): valid parts, and hostile globs and regexes.
CAMPAIGN_VALID: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(st.just("Fuzz campaign"), fuzz.text_values()),
    "kind": st.sampled_from(["bot", "agent", "nps", "popup"]),
    "priority": st.one_of(st.integers(-5, 5), fuzz.int_values()),
    "rules": st.one_of(
        st.fixed_dictionaries(
            {
                "url_include": st.lists(
                    st.one_of(
                        st.sampled_from(["/products/**", "/{a,b}/*", "/a/***", "/{x", "*"]),
                        fuzz.text_values(),
                    ),
                    max_size=3,
                ),
                "url_regex": st.sampled_from([r"(a+)+$", r"(a)\1", "(", r"^/p/\d+"]),
                "visits_min": st.one_of(st.integers(1, 5), fuzz.int_values()),
                "ends_at": st.sampled_from(["2020-01-01T00:00:00Z", "2099-01-01", "not a date"]),
            }
        ),
        fuzz.json_values(),
    ),
    "variants": st.one_of(
        st.just([{"key": "A", "weight": 1, "content": {"text": "Hello"}}]),
        st.lists(
            st.fixed_dictionaries(
                {
                    "key": st.one_of(st.sampled_from(["A", "control", "b"]), fuzz.text_values()),
                    "weight": st.one_of(st.floats(0, 1), fuzz.int_values()),
                    "content": st.fixed_dictionaries({"text": fuzz.text_values()}),
                }
            ),
            max_size=6,
        ),
    ),
    "holdout": st.one_of(st.floats(0, 1), fuzz.int_values()),
    "goal": st.one_of(
        st.just({"type": "conversion", "name": "purchase", "window_hours": 24}),
        st.fixed_dictionaries(
            {"type": st.sampled_from(["reply", "conversion", "x"]), "name": fuzz.text_values()}
        ),
    ),
}

# Valid field values per request body schema (components/schemas of the OpenAPI document).
SEGMENT_FILTER = {
    "match": "all",
    "conditions": [{"field": "device", "op": "eq", "value": "mobile"}],
}


def segment_filters() -> st.SearchStrategy[Any]:
    """Filters with known and unknown fields, operators and values of any kind."""
    condition = st.fixed_dictionaries(
        {
            "field": st.one_of(
                st.sampled_from(["visits", "device", "interest", "last_seen", "in_conversation"]),
                fuzz.text_values(),
            ),
            "op": st.one_of(
                st.sampled_from(["eq", "in", "has", "within", "is"]), fuzz.text_values()
            ),
            "value": fuzz.json_values(),
        }
    )
    return st.fixed_dictionaries(
        {
            "match": st.one_of(st.sampled_from(["all", "any"]), fuzz.text_values()),
            "conditions": st.one_of(st.lists(condition, max_size=25), fuzz.json_values()),
        }
    )


REST_VALID: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "LoginBody": {"username": fuzz.text_values(), "password": fuzz.text_values()},
    "MeUpdate": {
        "status": st.sampled_from(["online", "away", "offline"]),
        "notify_mode": st.sampled_from(["always", "hidden"]),
        "display_name": st.one_of(st.just("Fuzz"), fuzz.text_values()),
    },
    "PasswordChange": {
        "current_password": fuzz.text_values(),
        "new_password": fuzz.text_values(),
    },
    "PasswordReset": {"password": st.one_of(st.just("a one-time password"), fuzz.text_values())},
    "AgentCreate": {
        "username": st.one_of(st.from_regex(r"\Af[a-z0-9]{4,12}\Z"), fuzz.text_values()),
        "password": st.one_of(st.just("long enough password"), fuzz.text_values()),
        "display_name": st.one_of(st.just("New"), fuzz.text_values()),
        "role": st.sampled_from(["agent", "admin", "root"]),
        "max_chats": st.one_of(st.integers(1, 50), fuzz.int_values()),
    },
    "SendBody": {
        "text": st.one_of(st.just("hi"), fuzz.text_values()),
        "note": st.just(True),
    },
    "TransferBody": {"agent_id": fuzz.int_values(), "note": fuzz.text_values()},
    "CannedCreate": {
        "shortcut": st.one_of(st.from_regex(r"\A[a-z]{1,8}\Z"), fuzz.text_values()),
        "text": st.one_of(st.just("canned"), fuzz.text_values()),
    },
    "StartChatBody": {"text": st.one_of(st.just("hello"), fuzz.text_values())},
    "WebhookCreate": {
        "url": st.one_of(st.just("https://127.0.0.1:9/hook"), fuzz.text_values()),
        "topics": st.one_of(
            st.lists(st.sampled_from(["csat", "lead", "handoff", "nope"]), max_size=3),
            fuzz.text_values(),
        ),
    },
    "WebhookUpdate": {"enabled": st.booleans(), "topics": st.just(["csat"])},
    "ConversionReport": {
        "conversion_id": st.one_of(st.just("A-1"), fuzz.text_values()),
        "goal": st.one_of(st.just("purchase"), fuzz.text_values()),
        "value": st.one_of(st.just(10.0), fuzz.int_values()),
        "customer_id": fuzz.text_values(),
    },
    "CampaignDraft": CAMPAIGN_VALID,
    "CampaignPatch": {
        "name": st.one_of(st.just("Renamed"), fuzz.text_values()),
        "priority": st.one_of(st.integers(-5, 5), fuzz.int_values()),
        "rules": CAMPAIGN_VALID["rules"],
        "holdout": st.one_of(st.just(0.2), fuzz.int_values()),
    },
    "PlanRequest": {
        "baseline": st.one_of(st.just(0.05), st.floats(allow_nan=True), fuzz.int_values()),
        "mde": st.one_of(st.just(0.1), st.floats(allow_nan=True), fuzz.int_values()),
        "alpha": st.one_of(st.just(0.05), st.floats(allow_nan=True)),
        "power": st.one_of(st.just(0.8), st.floats(allow_nan=True)),
        "arms": st.one_of(st.integers(2, 6), fuzz.int_values()),
        "daily_visitors": st.one_of(st.just(1000.0), st.floats(allow_nan=True), st.none()),
    },
    "SegmentCreate": {
        "name": st.one_of(st.just("Fuzz segment"), fuzz.text_values()),
        "description": fuzz.text_values(),
        "filter": st.one_of(st.just(SEGMENT_FILTER), segment_filters(), fuzz.json_values()),
    },
    "SegmentUpdate": {
        "name": st.one_of(st.just("Renamed"), fuzz.text_values()),
        "filter": st.one_of(segment_filters(), fuzz.json_values()),
    },
    "SegmentPreview": {"filter": st.one_of(segment_filters(), fuzz.json_values())},
}


@dataclass
class Operation:
    method: str
    path: str
    body_schema: str | None
    query: list[str]


def operations(document: dict[str, Any]) -> list[Operation]:
    ops = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            schema = None
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                schema = ref.rsplit("/", 1)[1]
            query = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
            ops.append(Operation(method.upper(), path, schema, query))
    return ops


def path_values(t: Target) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(str(t.conversation_id)),
        fuzz.int_values().map(str),
        st.from_regex(r"\A[0-9a-f]{32}\Z"),
        fuzz.text_values().map(lambda s: quote(s[:300], safe="", errors="surrogatepass")),
        st.sampled_from(
            ["", "%00", "%ED%A0%80", "..", "%2F", "1e3", "0x10", "%201", "%D9%A1%D9%A2"]
        ),
    )


# Cursors of every list (a wrong list's is a 400) and broken ones.
CURSORS = [
    *(o.encode(datetime(2026, 1, 1, tzinfo=UTC), 1) for o in paging.CONVERSATION_VIEWS.values()),
    paging.AGENTS.encode("Zoë", 2**62),
    paging.DELIVERIES.encode(2**62, 2**62),
    CAMPAIGN_ORDERING.encode(2**62, 2**62),
    paging.LIVE_VISITORS.encode(datetime(2026, 1, 1, tzinfo=UTC), "v" * 64),
    "e30",
    "W10",
    "WyJvcGVuIiwgbnVsbCwgbnVsbF0",
    "WyJvcGVuIiwiMjAyNi0xMy0wMSIsMV0",
    "%00",
    "=" * 50,
]


def bodies(op: Operation) -> st.SearchStrategy[bytes | None]:
    hostile_raw = st.sampled_from(
        [
            b"",
            b"{",
            b"null",
            b"\xff\xfe",
            b'{"a": "\xed\xa0\x80"}',
            b"[" * 10_000 + b"]" * 10_000,
            fuzz.deep_json(10_000, "{").encode(),
            b"x" * 70_000,
            b'{"text": NaN}',
        ]
    )
    as_bytes = st.builds(
        lambda v: fuzz.as_json(v).encode("utf-8", "surrogatepass"),
        fuzz.payloads(REST_VALID[op.body_schema]) if op.body_schema else fuzz.json_values(),
    )
    return st.one_of(as_bytes, as_bytes, hostile_raw, st.none())


@st.composite
def rest_cases(draw: st.DrawFn, t: Target, ops: list[Operation]) -> dict[str, Any]:
    op = draw(st.sampled_from(ops))
    if op.path.startswith("/api/agents/{"):
        # Never the fuzzing admin itself (see Target.victim_id).
        path = op.path.replace("{id}", str(t.victim_id))
    else:
        path = re.sub(r"\{[a-z_]+\}", lambda _: draw(path_values(t)), op.path)
    names = [*op.query, "limit", "before_id", "view", "status", "cursor"]
    query = draw(
        st.dictionaries(
            st.sampled_from(names),
            st.one_of(
                fuzz.int_values().map(str),
                st.sampled_from(["open", "queue", "done", ""]),
                st.sampled_from(CURSORS),
                fuzz.text_values().map(lambda s: quote(s[:100], safe="", errors="surrogatepass")),
            ),
            max_size=3,
        )
    )
    method = draw(
        st.one_of(
            st.just(op.method),
            st.just(op.method),
            st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
        )
    )
    auth = draw(st.sampled_from(["token", "token", "token", "operator", "none", "garbage"]))
    if op.path == "/api/me/sign-out-everywhere" and auth == "token":
        auth = "none"  # would end the fuzzing admin's own token and socket
    garbage = draw(
        st.sampled_from(
            [
                "Bearer ",
                "Bearer \u00e9\u00ff" + "A" * 5000,
                "Basic Zm9vOmJhcg==",
                "Bearer " + "x" * 9000,
                "bearer  " + ADMIN_TOKEN + " x",
                "Bearer %00",
            ]
        )
    )
    return {
        "method": method,
        "path": path,
        "query": query,
        "body": draw(bodies(op)),
        "auth": auth,
        "garbage": garbage,
        "route": op.path,
    }


async def rest_case(t: Target, http: aiohttp.ClientSession, case: dict[str, Any]) -> None:
    headers = {"Content-Type": "application/json"}
    if case["auth"] == "token":
        headers["Authorization"] = f"Bearer {t.token}"
    elif case["auth"] == "operator":
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    elif case["auth"] == "garbage":
        headers["Authorization"] = case["garbage"]
    query = "&".join(f"{k}={v}" for k, v in case["query"].items())
    url = t.base_url + case["path"] + ("?" + query if query else "")
    async with http.request(
        case["method"], URL(url, encoded=True), data=case["body"], headers=headers
    ) as resp:
        status, raw = resp.status, await resp.read()
        content_type = resp.content_type
    assert status < 500, (case, status, raw[:300])
    text = raw.decode("utf-8")
    no_stack_text(text)
    if status >= 400 and any(len(v) > 8190 for v in headers.values()):
        # aiohttp's HTTP parser refuses headers over 8 KiB before any handler
        # or middleware runs: a plain-text 400 naming the limit.
        assert status == 400 and "8190 bytes" in text, (status, text[:300])
    elif status >= 400:
        assert content_type == "application/json", (case, status, text[:300])
        body = json.loads(text)
        assert isinstance(body.get("error"), str) and isinstance(body.get("message"), str), body
        t.counts["rest_refused"] += 1
    else:
        if status != 204:
            body = json.loads(text)
            if case["route"] == "/api/me/token" and case["auth"] == "token":
                t.token = body["token"]  # the old token was just revoked
        t.counts["rest_accepted"] += 1


def test_rest_routes(target: Target) -> None:
    async def document() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{target.base_url}/api/openapi.json") as resp,
        ):
            return await resp.json()  # type: ignore[no-any-return]

    ops = operations(target.run(document()))
    assert len(ops) >= 20
    http = target.run(_session())

    def check(case: dict[str, Any]) -> None:
        target.run(rest_case(target, http, case))
        every(target, "rest")

    try:
        run_hypothesis(rest_cases(target, ops), check, examples(500))
    finally:
        target.run(http.close())
    target.run(probe(target))
    assert_stored_text_well_formed(target)
    assert target.tracebacks() == []


# A valid body per schema: each string field in turn is replaced by a nasty value.
REST_EXAMPLES: dict[str, dict[str, Any]] = {
    "LoginBody": {"username": "fuzz", "password": "not the password"},
    "MeUpdate": {"display_name": "Fuzz"},
    "PasswordChange": {"current_password": "wrong password", "new_password": "long enough pw"},
    "PasswordReset": {"password": "a one-time password"},
    "AgentCreate": {
        "username": "newagent",
        "password": "long enough password",
        "display_name": "New",
        "role": "agent",
        "max_chats": 3,
    },
    "SendBody": {"text": "hi", "note": True},
    "TransferBody": {"agent_id": 1, "note": "see notes"},
    "CannedCreate": {"shortcut": "hi", "text": "canned"},
    "StartChatBody": {"text": "hello there"},
    "WebhookCreate": {"url": "https://127.0.0.1:9/hook", "topics": ["csat"]},
    "WebhookUpdate": {"enabled": False},
    "ConversionReport": {
        "conversion_id": "A-1",
        "goal": "purchase",
        "value": 10.0,
        "customer_id": "c-1",
    },
    "CampaignDraft": {
        "name": "Fuzz campaign",
        "kind": "bot",
        "rules": {"url_include": ["/products/**"]},
        "variants": [{"key": "A", "weight": 1, "content": {"text": "Hello"}}],
        "goal": {"type": "reply", "window_hours": 24},
    },
    "CampaignPatch": {"name": "Renamed"},
    "PlanRequest": {"baseline": 0.05, "mde": 0.1, "daily_visitors": 1000},
    "SegmentCreate": {"name": "Fuzz segment", "description": "d", "filter": SEGMENT_FILTER},
    "SegmentUpdate": {"name": "Renamed", "filter": SEGMENT_FILTER},
    "SegmentPreview": {"filter": SEGMENT_FILTER},
}
HOSTILE_BODIES = [
    b"[" * 10_000 + b"]" * 10_000,
    fuzz.deep_json(10_000, "{").encode(),
    b"\xff\xfe",
    b'{"a": "\xed\xa0\x80"}',
    b"x" * 70_000,
    b"{",
    b"",
]


def test_rest_known_nasties(target: Target) -> None:
    """Every body route: nasty text in each string field, and hostile raw bodies."""

    async def document() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{target.base_url}/api/openapi.json") as resp,
        ):
            return await resp.json()  # type: ignore[no-any-return]

    with_body = [op for op in operations(target.run(document())) if op.body_schema]
    assert {op.body_schema for op in with_body} == set(REST_EXAMPLES)
    cases = []
    for op in with_body:
        on_agent = op.path.startswith("/api/agents/{")
        path = op.path.replace(
            "{id}", str(target.victim_id if on_agent else target.conversation_id)
        )
        example = REST_EXAMPLES[op.body_schema]  # type: ignore[index]
        bodies = [
            fuzz.as_json({**example, key: nasty}).encode("utf-8", "surrogatepass")
            for key, value in example.items()
            if isinstance(value, str)
            for nasty in ("\ud800", "a\x00b", "\u200b", "x" * 5001)
        ]
        for body in bodies + HOSTILE_BODIES:
            cases.append(
                {
                    "method": op.method,
                    "path": path,
                    "query": {},
                    "body": body,
                    "auth": "token",
                    "route": op.path,
                }
            )

    async def run_all() -> None:
        async with aiohttp.ClientSession() as http:
            for case in cases:
                await rest_case(target, http, case)

    target.run(run_all())
    target.counts["rest"] += len(cases)
    assert_stored_text_well_formed(target)
    assert target.tracebacks() == []


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


# -- memory ---------------------------------------------------------------------------


def test_memory_stays_flat(
    target: Target, record_property: Callable[[str, Any], None], capsys: pytest.CaptureFixture[str]
) -> None:
    """The same barrage again (everything is warm now): RSS must not grow with it."""
    before = target.rss_kib()
    cases_before = sum(target.counts[k] for k in ("visitor", "agent", "auth", "raw", "rest"))
    run_hypothesis(visitor_cases, check_visitor(target), examples(500))
    run_hypothesis(agent_cases(target), check_agent(target), examples(400))
    after = target.rss_kib()
    cases = sum(target.counts[k] for k in ("visitor", "agent", "auth", "raw", "rest"))
    growth = after - before
    summary = (
        f"fuzz: {cases} cases ({dict(target.counts)}); RSS {target.rss_at_start} KiB "
        f"at start, {before} KiB -> {after} KiB (+{growth} KiB) over the last "
        f"{cases - cases_before} cases"
    )
    record_property("fuzz_summary", summary)
    with capsys.disabled():
        print("\n" + summary)
    assert growth < 40 * 1024, summary
    assert target.tracebacks() == []
