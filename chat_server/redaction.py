"""Masking personal data (emails, phone numbers, card numbers) in free text.

Used for log lines (``RedactingFilter``, on whenever ``REDACT_PII`` is set)
and, with ``REDACT_PII_IN_ANALYTICS``, for interaction events. The stored
transcript is never redacted: it is the record the agent needs.

The patterns lean towards not masking lookalikes: an order id (TR-10023), a
SKU (SKU-4417-2290), a price or a date stays readable, because a log full of
false ``[phone]`` masks is useless for debugging. So:

- a card number is 13-19 digits (optionally grouped by spaces or dashes) that
  pass the Luhn check;
- a phone number starts with ``+`` (7-15 digits), or has 9-15 digits and
  either starts with 0 or ``(`` or is grouped by spaces, dashes, dots or
  parentheses; an ungrouped run of digits not starting with 0 is taken for an
  order or tracking number;
- digits glued to letters or a dash (``SKU-1234567890``) are never masked;
- dates with times and dotted IPv4 addresses are kept.
"""

from __future__ import annotations

import logging
import re
from typing import Any

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
CARD_MASK = "[card]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Not preceded/followed by a word character or a dash: "SKU-4417-2290" and
# "TR-10023" are identifiers, not numbers on their own.
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
# Not followed by ":" either: "2026-01-02 03:04" is a date and a time.
_PHONE = re.compile(r"(?<![\w.+-])\+?\(?\d(?:[ ().-]{0,2}\d){6,16}(?![\w:-])")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum (all payment cards do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD_MASK if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    if _IPV4.fullmatch(found):
        return found  # an IP address: kept, logs need it to trace abuse
    digits = re.sub(r"\D", "", found)
    if found.startswith("+"):
        return PHONE_MASK if 7 <= len(digits) <= 15 else found
    grouped = digits != found
    if 9 <= len(digits) <= 15 and (grouped or found.startswith("0")):
        return PHONE_MASK
    return found


def redact(text: str) -> str:
    """``text`` with emails, phone numbers and (Luhn-valid) card numbers masked."""
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _CARD.sub(_card, text)  # before phones: a card number also looks like one
    return _PHONE.sub(_phone, text)


def redact_value(value: Any) -> Any:
    """``value`` with every string inside it (dicts, lists) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Redacts the formatted message (and traceback) of every record it sees.

    Installed on handlers, not loggers: a logger's filters do not see records
    propagated from its children, a handler's see them all.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatter.format uses exc_text when set, so the traceback
            # (which may quote visitor text in an exception) is redacted too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Add a ``RedactingFilter`` to every handler of ``logger`` (default: root)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
