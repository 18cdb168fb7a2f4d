"""Canned-response variables: validation at save time and rendering (pure functions)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chat_server.protocol import canned
from chat_server.protocol.agent import CannedCreate

VALUES = canned.contact_values("Dana", "dana@example.test", "Alex")
EMPTY = canned.contact_values(None, "", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {{contact.name}}, I'm {{agent.name}}.", "Hi Dana, I'm Alex."),
        ("Mail: {{ contact.email }}", "Mail: dana@example.test"),
        ("Hi {{contact.name|there}}!", "Hi Dana!"),
        ("No variables here.", "No variables here."),
    ],
)
def test_render_fills_the_known_variables(text: str, expected: str) -> None:
    assert canned.render(text, VALUES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {{contact.name|there}}!", "Hi there!"),
        ("Hi {{contact.name}}, how can I help?", "Hi, how can I help?"),
        ("Hi {{contact.name}} and welcome", "Hi and welcome"),
        ("{{agent.name| our team }} here", "our team here"),
    ],
)
def test_render_uses_the_fallback_or_nothing_never_braces(text: str, expected: str) -> None:
    rendered = canned.render(text, EMPTY)
    assert rendered == expected
    assert "{{" not in rendered and "}}" not in rendered


def test_render_leaves_text_that_is_not_a_variable_alone() -> None:
    # An agent explaining a template to a visitor is not rewritten.
    assert canned.render("Type {{x}} there", VALUES) == "Type {{x}} there"


@pytest.mark.parametrize(
    "text",
    [
        "Hi {{contact.name}}",
        "Hi {{contact.name|there}}, {{agent.name}} here ({{contact.email|no mail}})",
        "Plain text with a single { brace }",
    ],
)
def test_validate_accepts_good_templates(text: str) -> None:
    assert canned.validate(text) == text
    assert CannedCreate(shortcut="hi", text=text).text == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Hi {{contact.nmae}}", "unknown variable {{contact.nmae}}"),
        ("Hi {{visitor.name|x}}", "unknown variable"),
        ("Hi {{}}", "unknown variable {{(empty)}}"),
        ("Hi {{contact.name", "unbalanced braces"),
        ("Hi contact.name}}", "unbalanced braces"),
        ("Hi {{contact.name|a|b}}", "unbalanced braces"),
        ("Hi {{contact.name|" + "x" * 101 + "}}", "at most 100"),
    ],
)
def test_validate_refuses_unknown_or_malformed_variables(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        canned.validate(text)
    assert fragment in str(caught.value)
    with pytest.raises(ValidationError):
        CannedCreate(shortcut="hi", text=text)
