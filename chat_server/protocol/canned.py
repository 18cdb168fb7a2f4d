"""Canned-response variables: ``{{contact.name}}``, ``{{contact.email}}``, ``{{agent.name}}``.

A variable may carry a fallback after a bar: ``{{contact.name|there}}``. The
syntax is checked when a canned response is saved (``validate`` raises
ValueError, which the REST layer answers with 422), and ``render`` turns a
saved text into what the visitor reads. Rules:

* only the three variables above; any other name, an empty ``{{}}``, or a lone
  ``{{`` / ``}}`` is refused at save time;
* a variable with no value uses its fallback; with no fallback it renders as
  nothing (and the spaces it leaves are tidied), so a visitor never sees braces.

Pure functions, no I/O: the console's preview (console/src/canned.js) follows
the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

VARIABLES = ("contact.name", "contact.email", "agent.name")
MAX_FALLBACK = 100

# {{ name }} or {{ name | fallback }}; the fallback holds no braces or bars.
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_.]*)\s*(?:\|([^{}|]*))?\}\}")
# Known variables only (what ``render`` replaces in any agent message).
_KNOWN = re.compile(
    r"\{\{\s*(" + "|".join(re.escape(v) for v in VARIABLES) + r")\s*(?:\|([^{}|]*))?\}\}"
)


def validate(text: str) -> str:
    """The text unchanged, or ValueError naming the first bad variable."""
    for match in _VARIABLE.finditer(text):
        name, fallback = match.group(1), match.group(2)
        if name not in VARIABLES:
            shown = name or "(empty)"
            raise ValueError(
                f"unknown variable {{{{{shown}}}}}: use one of "
                + ", ".join(f"{{{{{v}}}}}" for v in VARIABLES)
            )
        if fallback is not None and len(fallback.strip()) > MAX_FALLBACK:
            raise ValueError(f"a fallback is at most {MAX_FALLBACK} characters")
    rest = _VARIABLE.sub("", text)
    if "{{" in rest or "}}" in rest:
        raise ValueError(
            "unbalanced braces: write a variable as {{contact.name}} or {{contact.name|fallback}}"
        )
    return text


def render(text: str, values: Mapping[str, str | None]) -> str:
    """Replace the known variables with ``values`` (or their fallback, or nothing)."""

    def one(match: re.Match[str]) -> str:
        value = (values.get(match.group(1)) or "").strip()
        if value:
            return value
        return (match.group(2) or "").strip()

    if "{{" not in text:
        return text
    rendered = _KNOWN.sub(one, text)
    if rendered == text:
        return text
    # An empty variable leaves "Hi ," or a double space: tidy those.
    rendered = re.sub(r"[ \t]{2,}", " ", rendered)
    rendered = re.sub(r"[ \t]+([,.!?;:])", r"\1", rendered)
    return rendered.strip()


def contact_values(
    contact_name: str | None, contact_email: str | None, agent_name: str | None
) -> dict[str, str | None]:
    """The values ``render`` takes, by variable name."""
    return {"contact.name": contact_name, "contact.email": contact_email, "agent.name": agent_name}
