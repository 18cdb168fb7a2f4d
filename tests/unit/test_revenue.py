"""services/revenue.py: the signed conversion message and the unverified caps."""

from __future__ import annotations

from chat_server.services.revenue import (
    conversion_message,
    conversion_signature,
    signature_matches,
    unverified_amount,
)


def test_the_message_is_the_documented_one() -> None:
    assert conversion_message("A-1001", "purchase", 129.9, "EUR", "42") == (
        "rapport-conversion-v1\nA-1001\npurchase\n129.90\nEUR\n42"
    )
    assert conversion_message("G-1", "signup", 0, "USD", None).endswith("\n0.00\nUSD\n")


def test_signature_vector_shared_with_the_docs_node_snippet() -> None:
    # docs/tracking.md's Node function gives the same hex for these inputs.
    assert conversion_signature("secret-x", "A-1001", "purchase", 129.9, "EUR", "42") == (
        "6de7d21802c277709fc5a544c9cfe56a831ef48751660f065cc584bd550071e8"
    )


def test_a_signature_binds_every_field() -> None:
    good = conversion_signature("k", "A-1", "purchase", 10.0, "EUR", "c-1")
    assert signature_matches("k", good.upper(), "A-1", "purchase", 10.0, "EUR", ("c-1",))
    for changed in [
        ("A-2", "purchase", 10.0, "EUR", ("c-1",)),
        ("A-1", "signup", 10.0, "EUR", ("c-1",)),
        ("A-1", "purchase", 10.01, "EUR", ("c-1",)),
        ("A-1", "purchase", 10.0, "USD", ("c-1",)),
        ("A-1", "purchase", 10.0, "EUR", ("c-2", None)),
    ]:
        assert not signature_matches("k", good, *changed)
    assert not signature_matches("other-key", good, "A-1", "purchase", 10.0, "EUR", ("c-1",))


def test_unverified_values_are_capped_per_event_and_per_day() -> None:
    assert unverified_amount(999_999_999, 1000, 5000, 0) == 1000
    assert unverified_amount(250, 1000, 5000, 0) == 250
    assert unverified_amount(999_999_999, 1000, 5000, 4500) == 500
    assert unverified_amount(10, 1000, 5000, 5000) == 0
    assert unverified_amount(10, 1000, 5000, 6000) == 0
