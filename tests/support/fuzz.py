"""Hypothesis strategies for hostile input: random JSON of every shape, and valid payloads mutated.

Used by tests/integration/test_fuzz.py. Every strategy produces values the
python-socketio client and aiohttp can send: deeper nesting than Python's
``json`` can encode is built as raw text instead (:func:`deep_json`).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Characters that have broken text handling somewhere: lone surrogates (not
# encodable), NUL and other controls, invisible and direction-changing
# characters, a combining mark, an emoji outside the BMP, a BOM.
NASTY_CHARS = [
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    "\x00",
    "\x01",
    "\x1b",
    "\x7f",
    "\x85",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u202e",
    "\u2028",
    "\u0301",
    "\U0001f600",
    "\r",
    "\n",
    "\t",
    "\\",
    '"',
    "<",
    "'",
    "%",
    "{",
]

# Lengths near the limits: a visitor message (2,000), agent text (5,000),
# names (100, 200), and big strings that still fit in a 64 KiB frame.
LIMIT_LENGTHS = [63, 64, 65, 100, 101, 200, 201, 1000, 1001, 1999, 2000, 2001, 5000, 5001, 30000]

BIG_INTS = [
    0,
    -1,
    2**31,
    2**53 + 1,
    2**62,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**30,
    -(10**30),
]


def nasty_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Short strings mixing any characters with the nasty ones."""
    return st.text(
        alphabet=st.one_of(st.characters(), st.sampled_from(NASTY_CHARS)), max_size=max_size
    )


@st.composite
def long_text(draw: st.DrawFn) -> str:
    """A string whose length is near a limit, of one repeated (possibly nasty) piece."""
    length = draw(st.sampled_from(LIMIT_LENGTHS))
    piece = draw(st.sampled_from(["a", "é", "\u200b", "\U0001f600", "\x00", "\ud800", "ab "]))
    return (piece * length)[:length]


def text_values() -> st.SearchStrategy[str]:
    """Strings of every kind: random, only nasty characters, nasty ones spliced into
    plausible values, near the length limits, and blank ones."""
    only_nasty = st.lists(st.sampled_from(NASTY_CHARS), min_size=1, max_size=5).map("".join)
    spliced = st.builds(
        "".join,
        st.tuples(
            st.sampled_from(["", "hello ", "a.b", "x@example.com"]),
            only_nasty,
            st.sampled_from(["", " world", ".sig"]),
        ),
    )
    return st.one_of(
        nasty_text(), only_nasty, spliced, long_text(), st.sampled_from(["", " ", "\u200b\u200b"])
    )


def int_values() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(), st.sampled_from(BIG_INTS))


def leaves(binary: bool = True) -> st.SearchStrategy[Any]:
    """Every kind of JSON scalar, plus NaN, infinities and (optionally) bytes."""
    options: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.booleans(),
        int_values(),
        st.floats(allow_nan=True, allow_infinity=True),
        text_values(),
    ]
    if binary:
        options.append(st.binary(max_size=64))  # a Socket.IO binary attachment
    return st.one_of(options)


def json_values(binary: bool = True) -> st.SearchStrategy[Any]:
    """Random JSON-ish values of every shape (objects, arrays, scalars)."""
    return st.recursive(
        leaves(binary),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(
                st.one_of(nasty_text(12), st.sampled_from(FIELD_NAMES)), children, max_size=4
            ),
        ),
        max_leaves=12,
    )


# Field names the protocol uses, so random objects sometimes hit real fields.
FIELD_NAMES = [
    "message",
    "session_id",
    "customData",
    "page_url",
    "typing",
    "conversation_id",
    "score",
    "comment",
    "product_id",
    "identity",
    "user_id",
    "user_hash",
    "name",
    "email",
    "rapport",
    "text",
    "note",
    "status",
    "token",
    "agent_id",
    "username",
    "password",
    "display_name",
    "role",
    "max_chats",
    "shortcut",
    "notify_mode",
    "current_password",
    "new_password",
]


def mutated(
    valid: dict[str, st.SearchStrategy[Any]], binary: bool = True
) -> st.SearchStrategy[dict[str, Any]]:
    """A valid payload with any field dropped, replaced by random JSON, or extra fields added."""
    anything = json_values(binary)
    return st.builds(
        lambda fields, extra: {**extra, **fields},
        st.fixed_dictionaries(
            {}, optional={k: st.one_of(good, good, anything) for k, good in valid.items()}
        ),
        st.dictionaries(st.sampled_from(FIELD_NAMES), anything, max_size=2),
    )


def payloads(valid: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Valid payloads, mutations of them, and any JSON at all."""
    return st.one_of(
        st.fixed_dictionaries(valid), mutated(valid), mutated(valid), json_values(), text_values()
    )


def deep_json(depth: int, kind: str = "[") -> str:
    """JSON text nested ``depth`` levels deep (too deep for ``json.dumps``)."""
    if kind == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


@st.composite
def raw_event_packets(draw: st.DrawFn, events: list[str], namespace: str = "") -> str:
    """A Socket.IO EVENT packet with an ack id whose JSON is hostile or broken.

    Sent as a raw engine.io message, so it can hold what no client would
    encode: nesting to 10,000 levels, truncated JSON, non-list data.
    """
    event = draw(st.sampled_from(events))
    prefix = f"42{namespace + ',' if namespace else ''}1"
    depth = draw(st.sampled_from([100, 999, 1000, 1001, 5000, 10_000]))
    kind = draw(st.sampled_from(["[", "{"]))
    body = draw(
        st.sampled_from(
            [
                f'["{event}",{deep_json(depth, kind)}]',
                f'["{event}",{{"message":{deep_json(depth, kind)}}}]',
                f'["{event}",',  # truncated
                '{"not":"a list"}',
                "[]",
                "[1,2,3]",
                '["' + event + '",NaN]',
                '["' + event + '","\\ud800"]',
                "",
                "nonsense",
            ]
        )
    )
    return prefix + body


def as_json(value: Any) -> str:
    """``value`` as JSON text for an HTTP body (NaN/Infinity kept, as Python writes them)."""
    return json.dumps(value, default=lambda b: b.decode("latin-1"))
