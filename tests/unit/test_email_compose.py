"""Emails are built by the email library: no header injection through names or
subjects, plain text first with an HTML alternative, text escaped in HTML."""

from __future__ import annotations

from email import message_from_string
from email.policy import default
from pathlib import Path

import pytest

from chat_server.services.email.compose import Brand, Link, build, one_line
from chat_server.services.email.relay import relay_from_url

BRAND = Brand("Shop <b>", "#123456", "news@shop.example", "Shop\r\nBcc: evil@x.example")


def test_a_line_break_in_a_subject_or_name_adds_no_header() -> None:
    msg = build(
        BRAND,
        "jane@example.com",
        "Hello\r\nBcc: victim@example.com\nX-Evil: 1",
        ["Hi"],
        headers={"X-Rapport-Conversation": "7\r\nBcc: again@example.com"},
    )
    raw = msg.as_string()
    parsed = message_from_string(raw, policy=default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    head = raw.split("\n\n", 1)[0].splitlines()
    assert not [line for line in head if line.lower().startswith(("bcc:", "x-evil:"))]
    assert parsed["Subject"] == "Hello Bcc: victim@example.com X-Evil: 1"
    assert [str(a.addr_spec) for a in parsed["To"].addresses] == ["jane@example.com"]
    assert parsed["From"].addresses[0].addr_spec == "news@shop.example"


def test_an_address_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError):
        build(BRAND, "jane@example.com\r\nBcc: x@example.com", "Hi", ["Hi"])


def test_plain_text_first_and_html_escaped() -> None:
    msg = build(
        BRAND,
        "jane@example.com",
        "Hi",
        ["<script>alert(1)</script> & you"],
        button=Link("Go <now>", "https://shop.example/x?a=1&b=2"),
        unsubscribe_url="https://shop.example/u?t=1",
    )
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    plain, rich = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and rich is not None
    text, html = plain.get_content(), rich.get_content()
    assert "<script>alert(1)</script> & you" in text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Shop &lt;b&gt;" in html and "a=1&amp;b=2" in html
    assert "Unsubscribe: https://shop.example/u?t=1" in text
    assert msg["List-Unsubscribe"] == "<https://shop.example/u?t=1>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_one_line() -> None:
    assert one_line("a\r\nb\tc\x00d") == "a b c d"
    assert len(one_line("x" * 500)) == 200


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "starttls"),
    [
        ("smtp://127.0.0.1:1025", "127.0.0.1", 1025, False, None),
        ("smtp://relay.example", "relay.example", 25, False, None),
        ("smtp+starttls://relay.example", "relay.example", 587, False, True),
        ("smtps://relay.example", "relay.example", 465, True, False),
    ],
)
def test_relay_urls(url: str, host: str, port: int, tls: bool, starttls: bool | None) -> None:
    relay = relay_from_url(url)
    assert (relay.host, relay.port, relay.use_tls, relay.start_tls) == (host, port, tls, starttls)


def test_relay_password_from_a_file_wins(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    relay = relay_from_url("smtps://u:inurl@relay.example", password_file=secret)
    assert relay.username == "u" and relay.password == "from-file"
    with pytest.raises(ValueError, match="expected"):
        relay_from_url("http://relay.example")
