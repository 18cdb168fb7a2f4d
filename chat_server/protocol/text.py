"""Text that can be stored and shown: no lone surrogates, no NUL characters."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StrictStr

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


# A message, note or canned response from an agent.
VisibleText = Annotated[StrictStr, AfterValidator(visible_text)]
# Any other string an agent sends (names, passwords, transfer notes).
WellFormedText = Annotated[StrictStr, AfterValidator(well_formed)]
