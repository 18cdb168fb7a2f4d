"""Does a page view match a campaign's server-side rules? And what must the browser watch?

Pure: no I/O. The engine builds one ``PageContext`` per page view (the URL is
split once) and asks ``static_match`` for each running campaign; the rules'
globs and regexes are compiled once per campaign version (``RuleCache``), so
a page view against 100 campaigns costs microseconds (bench/campaign_rules.py).

Cheap checks run first, URL matching last; each glob is first tested on its
literal prefix and suffix (plain string comparisons), and only a URL that
passes those reaches RE2. The reason of a refusal names the rule that failed
("url_include", "visits_min", ...), so the engine can log and tests can read it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import re2  # type: ignore[import-untyped]

from chat_server.services.campaigns.patterns import (
    URL_MAX,
    compile_regex,
    glob_to_regex,
    re2_options,
)
from chat_server.services.campaigns.rules import CampaignRules


@dataclass(frozen=True)
class Match:
    ok: bool
    # "" when ok; otherwise the rule that did not hold.
    reason: str = ""


MATCHED = Match(True)


@dataclass(frozen=True)
class PageContext:
    """What the server knows at a page view. ``now`` is aware (naive means UTC)."""

    url: str
    now: datetime
    visits: int = 1
    returning: bool = False
    # None for a visitor without an earlier visit.
    days_since_last_visit: float | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    referrer_host: str | None = None
    device: str | None = None
    language: str | None = None
    # SUPPORT_HOURS open now (chat_server/hours.py); True when none are set.
    hours_open: bool = True
    # An agent with free capacity is online now.
    agent_capacity: bool = False
    # Whether the visitor is in the campaign's segment (None: not evaluated).
    in_segment: bool | None = None
    # Derived once from ``url``.
    path: str = field(init=False)
    path_query: str = field(init=False)
    full: str = field(init=False)
    full_query: str = field(init=False)
    timestamp: float = field(init=False)
    _bytes: dict[str, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            parts = urlsplit(self.url if len(self.url) <= URL_MAX else "")
        except ValueError:
            parts = urlsplit("")
        # An over-long or unparsable URL has no path: no URL rule matches it.
        path = parts.path or ("/" if parts.netloc else "")
        query = f"?{parts.query}" if parts.query else ""
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}" if parts.scheme else ""
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "path_query", path + query)
        object.__setattr__(self, "full", origin + path)
        object.__setattr__(self, "full_query", origin + path + query)
        object.__setattr__(self, "_bytes", {})
        if self.now.tzinfo is None:
            object.__setattr__(self, "now", self.now.replace(tzinfo=UTC))
        object.__setattr__(self, "timestamp", self.now.timestamp())

    def encoded(self, target: str) -> bytes:
        """``path``, ``full_query``, ... as UTF-8, encoded once per page view."""
        cached = self._bytes.get(target)
        if cached is None:
            text: str = getattr(self, target)
            cached = self._bytes[target] = text.encode("utf-8", "surrogatepass")
        return cached


class _Re2:
    """An RE2 regex called on UTF-8 bytes through the binding's C++ object.

    google-re2's Python wrapper re-encodes the text and builds match objects on
    every call (~8 µs); the page's URL is encoded once per page view instead,
    and only "matched or not" is asked (~1 µs). Pinned in requirements.lock.
    """

    __slots__ = ("_anchor", "_match")

    def __init__(self, pattern: str, anchored: bool) -> None:
        compiled = re2.compile(pattern, re2_options())
        self._match = compiled._regexp.Match
        self._anchor = re2._Anchor.ANCHOR_BOTH if anchored else re2._Anchor.UNANCHORED

    def __call__(self, text: bytes) -> bool:
        return bool(self._match(self._anchor, text, 0, len(text))[0] != _NO_MATCH)


_NO_MATCH = (-1, -1)


@dataclass(frozen=True)
class _Glob:
    """One URL glob: a literal test first, RE2 only when the literal parts fit."""

    target: str  # "path" | "path_query" | "full" | "full_query"
    # "exact" (no wildcard), "prefix" (only a trailing **), "segment" (only a
    # trailing *) or "regex" (anything else: RE2 after the literal test).
    how: str
    prefix: str
    suffix: str
    regex: _Re2 | None

    @classmethod
    def of(cls, glob: str) -> _Glob:
        if glob.startswith(("http://", "https://", "*://")):
            target = "full_query" if "?" in glob else "full"
            glob = _lower_origin(glob)
        else:
            target = "path_query" if "?" in glob else "path"
        special = [i for i, c in enumerate(glob) if c in "*{"]
        if not special:
            return cls(target, "exact", glob, "", None)
        first = special[0]
        head, tail = glob[:first], glob[first:]
        if tail == "**":
            return cls(target, "prefix", head, "", None)
        if tail == "*":
            return cls(target, "segment", head, "", None)
        last = max(i for i, c in enumerate(glob) if c in "*}")
        regex = _Re2(glob_to_regex(glob), True)
        return cls(target, "regex", head, glob[last + 1 :], regex)

    def matches(self, ctx: PageContext) -> bool:
        text: str = getattr(ctx, self.target)
        how = self.how
        if how == "exact":
            return text == self.prefix
        if not text.startswith(self.prefix):
            return False
        if how == "prefix":
            return True
        if how == "segment":
            return "/" not in text[len(self.prefix) :]
        if not text.endswith(self.suffix) or len(text) < len(self.prefix) + len(self.suffix):
            return False
        return self.regex is not None and self.regex(ctx.encoded(self.target))


def _lower_origin(glob: str) -> str:
    scheme, _, rest = glob.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


Check = Callable[[PageContext], bool]


@dataclass(frozen=True)
class CompiledRules:
    """A campaign's rules as the checks that are set, cheapest first, each with its refusal."""

    rules: CampaignRules
    checks: tuple[tuple[Match, Check], ...]
    watch: dict[str, Any]


def _checks(r: CampaignRules) -> list[tuple[str, Check]]:
    out: list[tuple[str, Check]] = []
    # Compared as POSIX timestamps: the same instants in any time zone, and cheap.
    if r.starts_at is not None:
        starts = r.starts_at.timestamp()
        out.append(("starts_at", lambda c: c.timestamp >= starts))
    if r.ends_at is not None:
        ends = r.ends_at.timestamp()
        out.append(("ends_at", lambda c: c.timestamp < ends))
    if r.devices:
        devices = frozenset(r.devices)
        out.append(("devices", lambda c: c.device in devices))
    if r.exit_intent:
        out.append(("exit_intent", lambda c: c.device == "desktop"))
    if r.languages:
        wanted = tuple(r.languages)
        out.append(("languages", lambda c: _language_matches(wanted, c.language)))
    if r.visitor != "any":
        returning = r.visitor == "returning"
        out.append(("visitor", lambda c: c.returning == returning))
    if (low := r.visits_min) is not None:
        out.append(("visits_min", lambda c: c.visits >= low))
    if (high := r.visits_max) is not None:
        out.append(("visits_max", lambda c: c.visits <= high))
    if (dmin := r.days_since_last_visit_min) is not None:
        out.append(
            ("days_since_last_visit_min", lambda c: _at_least(c.days_since_last_visit, dmin))
        )
    if (dmax := r.days_since_last_visit_max) is not None:
        out.append(("days_since_last_visit_max", lambda c: _at_most(c.days_since_last_visit, dmax)))
    for name in ("utm_source", "utm_medium", "utm_campaign"):
        if values := getattr(r, name):
            out.append((name, _value_check(name, tuple(values))))
    if r.referrer_host:
        hosts = tuple(r.referrer_host)
        out.append(("referrer_host", lambda c: _host_matches(hosts, c.referrer_host)))
    if r.segment_id is not None:
        out.append(("segment", lambda c: bool(c.in_segment)))
    if r.business_hours_only:
        out.append(("business_hours_only", lambda c: c.hours_open))
    if r.require_agent_capacity:
        out.append(("require_agent_capacity", lambda c: c.agent_capacity))
    if r.url_exclude:
        exclude = _any_glob(r.url_exclude)
        out.append(("url_exclude", lambda c: not exclude(c)))
    if r.url_include:
        out.append(("url_include", _any_glob(r.url_include)))
    if r.url_regex:
        compile_regex(r.url_regex)  # the same refusals as validation
        regex = _Re2(r.url_regex, False)
        out.append(("url_regex", lambda c: regex(c.encoded("full_query"))))
    return out


def _any_glob(globs: list[str]) -> Check:
    compiled = tuple(_Glob.of(g) for g in globs)
    if len(compiled) == 1:
        return compiled[0].matches
    return lambda c: any(g.matches(c) for g in compiled)


def _at_least(value: float | None, bound: int) -> bool:
    return value is not None and value >= bound


def _at_most(value: float | None, bound: int) -> bool:
    return value is not None and value <= bound


def _value_check(name: str, values: tuple[str, ...]) -> Check:
    return lambda c: _value_matches(values, getattr(c, name))


def _watch(r: CampaignRules) -> dict[str, Any]:
    when: dict[str, Any] = {}
    if r.active_seconds is not None:
        when["active_seconds"] = r.active_seconds
    if r.scroll_percent is not None:
        when["scroll_percent"] = r.scroll_percent
    if r.exit_intent:
        when["exit_intent"] = True
    if r.idle_seconds is not None:
        when["idle_seconds"] = r.idle_seconds
    if r.site_trigger is not None:
        when["site_trigger"] = r.site_trigger
    return when


def compile_rules(rules: CampaignRules) -> CompiledRules:
    """Compile the checks (the rules were validated by ``CampaignRules``)."""
    checks = tuple((Match(False, reason), check) for reason, check in _checks(rules))
    return CompiledRules(rules=rules, checks=checks, watch=_watch(rules))


class RuleCache:
    """Compiled rules by a key that changes when the rules do, e.g. (id, updated_at)."""

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, CompiledRules] = OrderedDict()

    def get(self, key: Hashable, rules: CampaignRules | dict[str, Any]) -> CompiledRules:
        hit = self._items.get(key)
        if hit is not None:
            return hit
        parsed = rules if isinstance(rules, CampaignRules) else CampaignRules.model_validate(rules)
        compiled = compile_rules(parsed)
        self._items[key] = compiled
        if len(self._items) > self._size:
            self._items.popitem(last=False)  # the oldest compiled
        return compiled

    def __len__(self) -> int:
        return len(self._items)


def _value_matches(patterns: tuple[str, ...], value: str | None) -> bool:
    if value is None:
        return False
    value = value.lower()
    for p in patterns:
        if p.endswith("*"):
            if value.startswith(p.rstrip("*")):
                return True
        elif value == p:
            return True
    return False


def _host_matches(patterns: tuple[str, ...], host: str | None) -> bool:
    if not host:
        return False
    host = host.lower().removeprefix("www.")
    for p in patterns:
        if p.startswith("*."):
            base = p[2:]
            if host == base or host.endswith("." + base):
                return True
        elif host == p.removeprefix("www."):
            return True
    return False


def _language_matches(wanted: tuple[str, ...], language: str | None) -> bool:
    if not language:
        return False
    language = language.lower().replace("_", "-")
    return any(language == w or language.startswith(w + "-") for w in wanted)


def static_match(rules: CompiledRules | CampaignRules, ctx: PageContext) -> Match:
    """Whether the server-side rules hold for this page view, and if not, which one failed."""
    compiled = rules if isinstance(rules, CompiledRules) else compile_rules(rules)
    for refusal, check in compiled.checks:
        if not check(ctx):
            return refusal
    return MATCHED


def watch_for(rules: CampaignRules | CompiledRules) -> dict[str, Any]:
    """The browser-side condition (``campaign_watch.when``): only the keys that are set.

    Empty: show as soon as the server says so (the widget sends
    ``campaign_ready`` at once). All keys set must hold together.
    """
    compiled = rules if isinstance(rules, CompiledRules) else compile_rules(rules)
    return dict(compiled.watch)
