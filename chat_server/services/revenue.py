"""Which conversion values count as revenue: pure rules, no I/O.

A value counts as *verified* revenue only when the site's backend vouches for
it: a conversion signed with ``IDENTITY_SECRET`` and passed through the widget,
or one reported by the backend to ``POST /api/conversions`` with its token.
A value the browser reports on its own is kept apart as *unverified*, capped
per event and per visitor per day, and never added to revenue
(docs/security.md, "Revenue that can be trusted").

The signed message (one field per line, UTF-8, no trailing newline)::

    rapport-conversion-v1
    <conversion id>          the shop's order id (printable, <= 100 chars)
    <goal>                   e.g. purchase
    <value>                  two decimals, "." separator: 129.90
    <currency>               ISO 4217, upper case: EUR
    <customer id>            the logged-in user id, or empty for a guest

``signature = hex(HMAC-SHA256(IDENTITY_SECRET, message))``.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_VERSION = "rapport-conversion-v1"


def canonical_value(value: float) -> str:
    """The value as it is signed: two decimals, a dot, no grouping."""
    return f"{value:.2f}"


def conversion_message(
    conversion_id: str, goal: str, value: float, currency: str, customer_id: str | None
) -> str:
    """The exact text a backend signs for one conversion."""
    return "\n".join(
        [
            SIGNATURE_VERSION,
            conversion_id,
            goal,
            canonical_value(value),
            currency,
            customer_id or "",
        ]
    )


def conversion_signature(
    secret: str,
    conversion_id: str,
    goal: str,
    value: float,
    currency: str,
    customer_id: str | None,
) -> str:
    """hex(HMAC-SHA256(secret, conversion_message(...)))."""
    message = conversion_message(conversion_id, goal, value, currency, customer_id)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signature_matches(
    secret: str,
    given: str,
    conversion_id: str,
    goal: str,
    value: float,
    currency: str,
    customer_ids: tuple[str | None, ...],
) -> bool:
    """Whether ``given`` signs this conversion for one of ``customer_ids``
    (the visitor's verified user id, and ``None`` for a guest checkout)."""
    given = given.strip().lower()
    return any(
        hmac.compare_digest(
            given, conversion_signature(secret, conversion_id, goal, value, currency, customer)
        )
        for customer in customer_ids
    )


def unverified_amount(
    reported: float, per_event_cap: float, per_day_cap: float, counted_today: float
) -> float:
    """How much of a browser-reported value is kept (as unverified): at most
    ``per_event_cap``, and no more than what is left of ``per_day_cap`` after
    the ``counted_today`` already kept for this visitor in the last 24 hours."""
    left_today = max(0.0, per_day_cap - counted_today)
    return round(max(0.0, min(reported, per_event_cap, left_today)), 2)
