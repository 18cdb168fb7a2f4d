"""Forged tokens for the tests that check a signature is refused."""

from __future__ import annotations


def tampered(token: str, from_end: int = 6) -> str:
    """``token`` with one character of its signature changed.

    Not the last characters: the final base64 character of a signature carries
    only some bits, so "…xx" for "…xz" can decode to the very same signature
    (a forged id was once accepted that way, about 1 run in 1,000).
    """
    i = len(token) - from_end
    swap = "B" if token[i] == "A" else "A"
    return token[:i] + swap + token[i + 1 :]
