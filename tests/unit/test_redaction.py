"""PII redaction: what is masked, and the lookalikes that must stay readable."""

from __future__ import annotations

import logging

import pytest

from chat_server.redaction import (
    CARD_MASK,
    EMAIL_MASK,
    PHONE_MASK,
    RedactingFilter,
    luhn_valid,
    redact,
    redact_value,
)

MASKED = [
    ("my email is jane.doe+shop@example.co.uk thanks", f"my email is {EMAIL_MASK} thanks"),
    ("JANE@EXAMPLE.COM", EMAIL_MASK),
    ("call me on +49 30 1234567", f"call me on {PHONE_MASK}"),
    ("call me on +44 7700 900123.", f"call me on {PHONE_MASK}."),
    ("my number: (555) 123-4567", f"my number: {PHONE_MASK}"),
    ("555-123-4567 after 5pm", f"{PHONE_MASK} after 5pm"),
    ("07700 900123", PHONE_MASK),
    ("mobile 015112345678", f"mobile {PHONE_MASK}"),
    ("06.12.34.56.78", PHONE_MASK),
    ("card 4111 1111 1111 1111 exp 12/27", f"card {CARD_MASK} exp 12/27"),
    ("4111-1111-1111-1111", CARD_MASK),
    ("5500005555555559", CARD_MASK),
    ("amex 378282246310005", f"amex {CARD_MASK}"),
    (
        "I'm ann@x.org, +1 415 555 0100, card 4242424242424242",
        f"I'm {EMAIL_MASK}, {PHONE_MASK}, card {CARD_MASK}",
    ),
]

KEPT = [
    "where is my order TR-10023?",
    "order number 1234567890",  # ungrouped, no leading 0: an order/tracking number
    "tracking 1Z999AA10123456784",
    "SKU-4417-2290-XL in blue",
    "the jacket costs $1,299.99, or 1.299,99 €",
    "delivered on 2024-05-01 at 14:30",
    "on 01.05.2024 or 05/01/2024",
    "size 42, 3 pairs, 10% off",
    "4111 1111 1111 1112",  # card-shaped but fails the Luhn check
    "1234567812345678",  # 16 digits, not Luhn-valid: an order id
    "product 100234 and 100235",
    "invoice INV-2024-000123",
    "version 3.6.1",
    "user@localhost",  # no top-level domain
    "at 2026-01-02 03:04:05",
    "2026-01-02T03:04:05+00:00",
    "from 192.168.100.200 port 5",
    "visitor 3f9d2c7e1b2a4c3d9e8f0123456789ab",  # a visitor id (uuid hex)
    "took 1234.5 ms",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_pii_is_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_lookalikes_are_kept(text: str) -> None:
    assert redact(text) == text


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


def test_redact_value_walks_nested_data() -> None:
    data = {"text": "mail a@b.io", "n": 3, "list": ["+49 30 1234567", None], "ok": True}
    assert redact_value(data) == {
        "text": f"mail {EMAIL_MASK}",
        "n": 3,
        "list": [PHONE_MASK, None],
        "ok": True,
    }


def test_log_filter_redacts_message_args_and_traceback() -> None:
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test_redaction.child")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("visitor said %r", "I'm jane@example.com, card 4111111111111111")
        try:
            raise ValueError("bad input: +49 30 1234567")
        except ValueError:
            logger.exception("failed for order TR-10023")
    finally:
        logger.removeHandler(handler)
    assert records[0] == f'visitor said "I\'m {EMAIL_MASK}, card {CARD_MASK}"'
    assert "jane@example.com" not in "".join(records)
    assert "1234567" not in records[1]
    assert f"ValueError: bad input: {PHONE_MASK}" in records[1]
    assert "TR-10023" in records[1]


@pytest.mark.parametrize("enabled", ["true", "false"])
@pytest.mark.slow  # starts a server process: not the fast tier
def test_server_logging_redacts_when_enabled(enabled: str) -> None:
    """The chat server's own log set-up (a fresh process, as ``serve`` runs it)."""
    import os
    import subprocess
    import sys

    script = (
        "import logging\n"
        "from chat_server.__main__ import configure_logging, load_settings\n"
        "configure_logging(load_settings())\n"
        "logging.getLogger('chat_server.services.x').warning("
        "'visitor %s wrote %r', 'v1', 'I am jane@example.com, +49 30 1234567')\n"
    )
    env = {**os.environ, "SECRET_KEY": "test-secret-key-0123456789", "REDACT_PII": enabled}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stderr
    assert "visitor v1 wrote" in out
    if enabled == "true":
        assert "jane@example.com" not in out and "1234567" not in out
        assert f"I am {EMAIL_MASK}, {PHONE_MASK}" in out
    else:
        assert "jane@example.com" in out
