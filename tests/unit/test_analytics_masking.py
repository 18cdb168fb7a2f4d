"""Analytics masking (chat_server/services/analytics/masking.py): pure functions."""

from __future__ import annotations

from typing import Any

from chat_server.services.analytics.masking import mask_rows, mask_summary, merge_counts


def test_mask_rows_masks_text_cells_and_keeps_the_rest() -> None:
    rows: list[list[Any]] = [
        ["mail jane@example.com", 3, None, 0.5],
        ["/unsubscribe/bob@example.org", "call 0176 12345678"],
        ["card 4111 1111 1111 1111 please", "order TR-10023", "2026-12-06T06:00:00+00:00"],
    ]
    assert mask_rows(rows) == [
        ["mail [email]", 3, None, 0.5],
        ["/unsubscribe/[email]", "call [phone]"],
        ["card [card] please", "order TR-10023", "2026-12-06T06:00:00+00:00"],
    ]


def test_mask_summary_masks_nested_strings_only() -> None:
    summary = {
        "range": {"from": "2026-12-01T00:00:00+00:00"},
        "kpis": {"visitors": 3},
        "series": [{"t": "2026-12-01T00:00:00+00:00", "note": "x@example.com"}],
    }
    assert mask_summary(summary) == {
        "range": {"from": "2026-12-01T00:00:00+00:00"},
        "kpis": {"visitors": 3},
        "series": [{"t": "2026-12-01T00:00:00+00:00", "note": "[email]"}],
    }


def test_merge_counts_adds_up_texts_that_mask_alike_and_ranks_them() -> None:
    rows = [
        ("blorp", 3),
        ("refund for a@example.com", 2),
        ("refund for b@example.com", 2),
        ("call +49 30 1234567", 1),
    ]
    assert merge_counts(rows, limit=10) == [
        ["refund for [email]", 4],
        ["blorp", 3],
        ["call [phone]", 1],
    ]
    assert merge_counts(rows, limit=1) == [["refund for [email]", 4]]
    assert merge_counts([], limit=5) == []
