"""Text that can be stored and shown: no lone surrogates, no NUL characters."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler, StrictStr
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# Zero-width and other invisible characters: a message of only these is empty.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def clean_text(value: str) -> str:
    """``value`` without NUL characters; ValueError if it holds a lone surrogate.

    A lone surrogate (e.g. ``"\\ud800"`` from a JSON escape) cannot be encoded,
    so no database can store it; NUL is refused by PostgreSQL text columns.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains characters that are not valid text") from None
    return value.replace("\x00", "")


def well_formed(value: str) -> str:
    """Pydantic validator: ``value`` unchanged; ValueError for lone surrogates or NUL.

    For values that must not be altered silently (passwords, names): the
    client hears what is wrong instead of storing something else.
    """
    if "\x00" in value:
        raise ValueError("contains NUL characters")
    return clean_text(value)


def is_blank(value: str) -> bool:
    """Nothing visible: only whitespace and invisible characters."""
    return not value.translate(INVISIBLE).strip()


def visible_text(value: str) -> str:
    """Pydantic validator: storable text with something visible in it."""
    value = clean_text(value)
    if is_blank(value):
        raise ValueError("the text is empty")
    return value


# Every whitespace character (Unicode's White_Space) is in the Basic Multilingual
# Plane; the control, format and separator characters are in planes 0, 1 and 14
# (tests/unit/test_text.py checks both against every code point).
_PLANES = (*range(0x20000), *range(0xE0000, 0xF0000))
# What a conversion id may not hold: controls, format characters (e.g. bidi
# overrides) and separators other than the plain space.
UNPRINTABLE = frozenset(
    chr(c)
    for c in _PLANES
    if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp", "Zs") and c != 0x20
)


def _class(chars: Iterable[str]) -> str:
    """A regex character class body matching ``chars``: the characters themselves
    and ranges of them, which ECMA-262, Python and Rust read alike (escapes differ)."""
    ranges: list[list[int]] = []
    for code in sorted(map(ord, chars)):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


def _blank_class() -> str:
    """A regex character class body of what ``is_blank`` ignores (and NUL, which is removed)."""
    blank = {c for c in map(chr, range(0x10000)) if c.isspace()}
    return _class(blank | {chr(c) for c in INVISIBLE} | {"\x00"})


def printable(value: str) -> str:
    """Pydantic validator: ``value`` unchanged; ValueError if it holds an unprintable
    character (UNPRINTABLE) or nothing but spaces."""
    if not value.strip(" ") or any(c in UNPRINTABLE for c in value):
        raise ValueError("must be printable text")
    return value


# JSON Schema patterns (ECMA-262 syntax, unanchored: "contains a match") of the
# validators below, stated in the OpenAPI document.
VISIBLE_PATTERN = f"[^{_blank_class()}]"
_UNPRINTABLE = _class(UNPRINTABLE)
PRINTABLE_PATTERN = f"^[^{_UNPRINTABLE}]*[^{_UNPRINTABLE} ][^{_UNPRINTABLE}]*$"
NO_NUL_PATTERN = "^[^\x00]*$"


@dataclass(frozen=True)
class Documented:
    """Adds keywords to a type's JSON Schema: what an AfterValidator checks, stated."""

    keywords: tuple[tuple[str, Any], ...]

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.keywords)
        return schema


# A message, note or canned response from an agent.
VisibleText = Annotated[
    StrictStr, AfterValidator(visible_text), Documented((("pattern", VISIBLE_PATTERN),))
]
# Any other string an agent sends (names, passwords, transfer notes).
WellFormedText = Annotated[
    StrictStr, AfterValidator(well_formed), Documented((("pattern", NO_NUL_PATTERN),))
]
