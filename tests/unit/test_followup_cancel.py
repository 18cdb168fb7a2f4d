"""is_cancel: which visitor messages leave the leave-a-message flow."""

from __future__ import annotations

import pytest

from chat_server.services.followups import is_cancel


@pytest.mark.parametrize(
    "text",
    [
        "cancel please", "please cancel", "Cancel?", '"cancel"', "cancel it please",
        "no, thank you!", "No thank you.", "forget it", "Forget it.", "forget about it",
        "ok never mind", "Never mind, thanks", "nvm", "I said cancel", "don\u2019t bother",
        "No thanks \U0001f642", "STOP!!!", "nah", "/deny",
    ],
)  # fmt: skip
def test_cancels(text: str) -> None:
    assert is_cancel(text)


@pytest.mark.parametrize(
    "text",
    [
        "cancel my order #123", "Stop sending me emails", "I want to cancel my subscription",
        "no the blue one", "never mind the size, the colour is wrong", "sam@example.com",
        "My tent pole arrived broken", "",
    ],
)  # fmt: skip
def test_messages_are_not_cancels(text: str) -> None:
    assert not is_cancel(text)
