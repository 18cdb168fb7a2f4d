"""Committed events reach every subscriber in order; one failing does not stop the rest."""

from __future__ import annotations

import pytest

from chat_server.services.domain_events import DomainEvents


def test_every_subscriber_hears_the_committed_types_in_order() -> None:
    heard: list[tuple[str, list[str]]] = []
    events = DomainEvents()
    events.subscribe(lambda types: heard.append(("metrics", types)))
    events.subscribe(lambda types: heard.append(("feed", types)))
    events.committed(["message_received", "conversion"])
    assert heard == [
        ("metrics", ["message_received", "conversion"]),
        ("feed", ["message_received", "conversion"]),
    ]


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[list[str]] = []

    def broken(types: list[str]) -> None:
        raise RuntimeError("boom")

    events = DomainEvents()
    events.subscribe(broken)
    events.subscribe(heard.append)
    events.committed(["page_view"])
    assert heard == [["page_view"]]
    assert "a subscriber to committed events failed" in caplog.text
