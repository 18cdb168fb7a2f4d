"""The JSON Schema patterns the OpenAPI document states agree with the validators."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chat_server.protocol import agent, text
from chat_server.protocol.conversions import ConversionReport
from chat_server.protocol.ids import VISITOR_ID_PATTERN, is_visitor_id

# Text with the characters the rules are about, often.
TRICKY = "\x00 \t\n\u00a0\u200b\u00ad\u2028\u202e\ufeff\U000e0001\U000110bd/_-.@aZ09é"
texts = st.text(st.one_of(st.sampled_from(TRICKY), st.characters(codec="utf-8")), max_size=12)


def accepts(check: Callable[[Any], object], value: Any) -> bool:
    try:
        check(value)
    except (ValueError, ValidationError):
        return False
    return True


def test_the_scanned_planes_hold_every_whitespace_and_unprintable_character() -> None:
    everything = map(chr, range(sys.maxunicode + 1))
    unprintable = {
        c
        for c in everything
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Zs") and c != " "
    }
    assert unprintable == text.UNPRINTABLE
    assert max(c for c in range(sys.maxunicode + 1) if chr(c).isspace()) < 0x10000


@settings(max_examples=400, derandomize=True, database=None)
@given(texts)
@example("")
@example("\u200b \u00ad")
@example("\x00a")
def test_visible_text_pattern(value: str) -> None:
    stated = re.search(text.VISIBLE_PATTERN, value) is not None
    assert stated == accepts(text.visible_text, value)


@settings(max_examples=400, derandomize=True, database=None)
@given(texts)
@example(" ")
@example("A-1\u202e")
@example("order\U000e0001")
@example("\U0003d12c")  # unassigned today: not refused for that
def test_printable_pattern(value: str) -> None:
    stated = re.search(text.PRINTABLE_PATTERN, value) is not None
    assert stated == accepts(text.printable, value)


@settings(max_examples=300, derandomize=True, database=None)
@given(texts)
@example("a\x00")
def test_no_nul_pattern(value: str) -> None:
    assert (re.search(text.NO_NUL_PATTERN, value) is not None) == accepts(text.well_formed, value)


@settings(max_examples=300, derandomize=True, database=None)
@given(st.one_of(texts, st.from_regex(r"\A/*[a-z0-9][a-z0-9_-]{0,31}\n?\Z")))
@example("//hi")
@example("hi\n")
def test_shortcut_pattern(value: str) -> None:
    stated = re.search(agent.SHORTCUT_PATTERN, value) is not None and not value.endswith("\n")

    def check(shortcut: str) -> None:
        agent.CannedCreate(shortcut=shortcut, text="hi")

    assert stated == accepts(check, value)


@settings(max_examples=300, derandomize=True, database=None)
@given(st.one_of(texts, st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}\n?\Z")))
@example("ab\n")
@example("a")
def test_username_pattern(value: str) -> None:
    stated = re.search(agent.USERNAME_PATTERN, value) is not None and not value.endswith("\n")

    def check(username: str) -> None:
        agent.AgentCreate(username=username, password="long enough pw", display_name="A")

    assert stated == accepts(check, value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("0" * 32, True), ("a" * 32 + "\n", False), ("A" * 32, False), ("0" * 31, False)],
)
def test_visitor_id_pattern(value: str, ok: bool) -> None:
    # JSON Schema's "$" is the end of the string: no trailing newline.
    stated = re.search(VISITOR_ID_PATTERN, value) is not None and not value.endswith("\n")
    assert stated == ok == is_visitor_id(value)
    conversion = {"conversion_id": "A-1", "goal": "purchase", "value": 1, "visitor_id": value}
    assert accepts(ConversionReport.model_validate, conversion) == ok


def test_transfer_states_exactly_one_target() -> None:
    one_of = agent.TransferBody.model_json_schema()["oneOf"]
    assert [b["required"] for b in one_of] == [["agent_id"], ["queue"]]
    for body, ok in [
        ({"agent_id": 2}, True),
        ({"queue": True}, True),
        ({}, False),
        ({"queue": False}, False),
        ({"agent_id": 2, "queue": True}, False),
    ]:
        assert accepts(agent.TransferBody.model_validate, body) == ok, body
