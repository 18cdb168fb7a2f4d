"""URL patterns of campaign rules: globs (compiled to RE2) and expert regexes (RE2).

Pure: no I/O.

URL globs: ``*`` matches within one path segment (no ``/``), ``**`` matches
anything, ``{a,b}`` either alternative; everything else is literal (``?`` too:
a glob with a ``?`` is matched against path and query). A glob starting with
``http://``, ``https://`` or ``*://`` is matched against the whole URL (no
fragment); any other must start with ``/`` and is matched against the path.
``url_regex`` (for experts) is searched in the whole URL with RE2, a
linear-time engine: no pattern can make matching slow (``(a+)+$`` is fine
in RE2); back-references and look-arounds, which RE2 does not have, are
refused with a message.
"""

from __future__ import annotations

import re
from typing import Any

import re2  # type: ignore[import-untyped]

GLOB_MAX = 300
REGEX_MAX = 500
# Longer URLs never match a URL rule (a browser sends at most a few KiB).
URL_MAX = 4096


def re2_options() -> Any:
    """RE2 options: quiet (errors come back as exceptions), bounded memory."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 1 << 20
    return options


def glob_to_regex(glob: str) -> str:
    """The RE2 pattern (anchored both ends) for a URL glob; ValueError says what is wrong."""
    if not glob:
        raise ValueError("a URL pattern may not be empty")
    if len(glob) > GLOB_MAX:
        raise ValueError(f"a URL pattern may have at most {GLOB_MAX} characters")
    if any(c.isspace() for c in glob) or any(ord(c) < 32 for c in glob):
        raise ValueError(f"{glob!r}: a URL pattern may not contain spaces or control characters")
    if "***" in glob:
        raise ValueError(f"{glob!r}: use * (within a path segment) or ** (anything), not ***")
    if not glob.startswith(("/", "http://", "https://", "*://")):
        raise ValueError(f"{glob!r}: start with / (a path) or https:// (a whole URL)")
    out: list[str] = []
    i = 0
    in_brace = False
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "{":
            if in_brace:
                raise ValueError(f"{glob!r}: braces {{a,b}} cannot be nested")
            in_brace = True
            out.append("(?:")
        elif c == "}":
            if not in_brace:
                raise ValueError(f"{glob!r}: a }} without its {{")
            in_brace = False
            out.append(")")
        elif c == "," and in_brace:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    if in_brace:
        raise ValueError(f"{glob!r}: a {{ without its }}")
    return "".join(out)


def compile_regex(pattern: str) -> Any:
    """A compiled RE2 regex for ``url_regex``; ValueError says what is wrong."""
    if not pattern:
        raise ValueError("the URL regex may not be empty")
    if len(pattern) > REGEX_MAX:
        raise ValueError(f"the URL regex may have at most {REGEX_MAX} characters")
    if re.search(r"\\[1-9]|\(\?P=|\(\?<?[=!]", pattern):
        raise ValueError(
            "the URL regex may not use back-references or look-arounds "
            "(they can make matching take exponential time)"
        )
    try:
        return re2.compile(pattern, re2_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"the URL regex does not compile: {reason}") from None
