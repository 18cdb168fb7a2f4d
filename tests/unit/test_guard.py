"""The socket guard answers every event: failures, unknown events, extra arguments.

The namespace's ``emit`` is the one fake (the edge to the Socket.IO server);
tests/integration/test_fuzz.py drives the guard through a real server.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import socketio

from chat_server.transport.guard import INTERNAL_MESSAGE, GuardedNamespace


class Namespace(GuardedNamespace):
    error_event = "error"

    def __init__(self) -> None:
        super().__init__("/")
        self.sent: list[tuple[str, Any, str | None]] = []

    async def emit(self, event: str, data: Any = None, to: str | None = None, **_: Any) -> None:
        self.sent.append((event, data, to))

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if auth == "boom":
            raise RuntimeError("database password is hunter2")

    async def on_boom(self, sid: str, data: Any = None) -> None:
        raise RuntimeError("database password is hunter2")

    async def on_fine(self, sid: str, data: Any = None) -> dict[str, Any]:
        return {"ok": True, "data": data}


async def test_an_exception_is_logged_and_answered_without_details(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ns = Namespace()
    with caplog.at_level(logging.ERROR):
        ack = await ns.trigger_event("boom", "s1", {"x": 1})
    assert ack == {
        "ok": False,
        "code": "internal_error",
        "message": INTERNAL_MESSAGE,
    }
    assert ns.sent == [("error", {"code": "internal_error", "message": INTERNAL_MESSAGE}, "s1")]
    assert "hunter2" in caplog.text  # the operator sees the cause; the client does not
    assert "hunter2" not in repr(ns.sent)


async def test_unknown_events_and_extra_arguments_are_refused() -> None:
    ns = Namespace()
    assert (await ns.trigger_event("nope", "s1", {}))["code"] == "unknown_event"
    assert (await ns.trigger_event("fine", "s1", 1, 2))["code"] == "invalid_payload"
    assert [event for event, _, _ in ns.sent] == ["error", "error"]


async def test_good_events_pass_through() -> None:
    ns = Namespace()
    assert await ns.trigger_event("fine", "s1", [1]) == {"ok": True, "data": [1]}
    assert ns.sent == []


async def test_a_failing_connect_refuses_the_connection() -> None:
    ns = Namespace()
    with pytest.raises(socketio.exceptions.ConnectionRefusedError) as refused:
        await ns.trigger_event("connect", "s1", {}, "boom")
    assert refused.value.error_args == {"message": "internal_error"}
    assert await ns.trigger_event("connect", "s1", {}, None) is None


def test_the_agent_namespace_answers_in_its_own_error_shape() -> None:
    from chat_server.transport.agent import AgentNamespace

    ns = AgentNamespace(lambda: None)  # type: ignore[arg-type, return-value]
    assert ns.refusal("x", "y") == {"ok": False, "error": "x", "message": "y"}
    assert ns.error_event is None
