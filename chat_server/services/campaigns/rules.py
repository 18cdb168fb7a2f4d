"""What a campaign is, as validated data: who and when (rules), what (content), the experiment.

Pure: no I/O. ``parse_draft(data, goals)`` turns a request body into a
``CampaignDraft`` or raises ``RuleErrors`` with one message per field (the
REST layer and ``POST /api/campaigns/validate`` show them as they are). What
needs the database (the segment exists, the agent exists) and the clock
(ends in the past) is checked by the service. docs/campaigns.md lists every
rule and every message.

URL globs and regexes: see patterns.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chat_server.protocol.text import well_formed
from chat_server.protocol.visitor import TRIGGER_NAME_PATTERN
from chat_server.services.campaigns.patterns import compile_regex, glob_to_regex

WEIGHT_TOLERANCE = 1e-6
# Row ids (segments, agents) are 32-bit in every database we run on.
ID_MAX = 2**31 - 1
CONTROL = "control"

Device = Literal["desktop", "mobile", "tablet"]
Kind = Literal["bot", "agent", "nps"]
GoalType = Literal["conversion", "reply", "handoff", "csat", "nps"]


def _fail(field: str, message: str) -> None:
    """A cross-field error that names its field (``field_errors`` moves it into the path)."""
    raise ValueError(f"[{field}] {message}")


def _matcher(value: str, what: str, star_suffix: bool = True) -> str:
    value = value.strip().lower()
    if not value or len(value) > 100:
        raise ValueError(f"a {what} must have 1 to 100 characters")
    if any(c.isspace() for c in value):
        raise ValueError(f"{value!r}: a {what} may not contain spaces")
    if star_suffix and ("*" in value.rstrip("*") or value == "*" or value.endswith("**")):
        raise ValueError(f"{value!r}: * only at the end (a prefix, e.g. spring_*)")
    return value


class CampaignRules(BaseModel):
    """Who and when. Unset or empty means "any"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url_include: list[str] = Field(default_factory=list, max_length=20)
    url_exclude: list[str] = Field(default_factory=list, max_length=20)
    url_regex: str | None = None
    # Watched in the browser (the widget reports when the condition holds).
    active_seconds: int | None = Field(None, ge=1, le=3600)
    scroll_percent: int | None = Field(None, ge=1, le=100)
    exit_intent: bool = False
    idle_seconds: int | None = Field(None, ge=1, le=3600)
    # The names Rapport.trigger accepts (the widget and the socket check the same).
    site_trigger: str | None = Field(None, pattern=TRIGGER_NAME_PATTERN)
    # Checked on the server at each page view.
    visits_min: int | None = Field(None, ge=1, le=100000)
    visits_max: int | None = Field(None, ge=1, le=100000)
    visitor: Literal["any", "new", "returning"] = "any"
    days_since_last_visit_min: int | None = Field(None, ge=0, le=3650)
    days_since_last_visit_max: int | None = Field(None, ge=0, le=3650)
    utm_source: list[str] = Field(default_factory=list, max_length=20)
    utm_medium: list[str] = Field(default_factory=list, max_length=20)
    utm_campaign: list[str] = Field(default_factory=list, max_length=20)
    referrer_host: list[str] = Field(default_factory=list, max_length=20)
    segment_id: int | None = Field(None, ge=1, le=ID_MAX)
    business_hours_only: bool = False
    require_agent_capacity: bool = False
    devices: list[Device] = Field(default_factory=list, max_length=3)
    languages: list[str] = Field(default_factory=list, max_length=50)
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @field_validator("url_include", "url_exclude")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        for glob in value:
            glob_to_regex(glob)
        return value

    @field_validator("url_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            compile_regex(value)
        return value

    @field_validator("utm_source", "utm_medium", "utm_campaign")
    @classmethod
    def _utm(cls, value: list[str]) -> list[str]:
        return [_matcher(v, "UTM value") for v in value]

    @field_validator("referrer_host")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        hosts = [_matcher(v, "referrer host", star_suffix=False) for v in value]
        for host in hosts:
            if not re.fullmatch(r"(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*", host):
                raise ValueError(f"{host!r}: a host like example.com or *.example.com")
        return hosts

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        out = [v.strip().lower().replace("_", "-") for v in value]
        for lang in out:
            if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", lang):
                raise ValueError(f"{lang!r}: a language tag like en or pt-br")
        return out

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # A date without a zone means UTC.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _windows(self) -> CampaignRules:
        days = (self.days_since_last_visit_min, self.days_since_last_visit_max)
        pairs = (("visits", self.visits_min, self.visits_max), ("days_since_last_visit", *days))
        for name, low, high in pairs:
            if low is not None and high is not None and low > high:
                _fail(f"{name}_min", f"{name}_min ({low}) is greater than {name}_max ({high})")
        if self.visitor == "new" and self.visits_min is not None and self.visits_min > 1:
            _fail("visits_min", "a new visitor is on visit 1: visits_min must be 1 or unset")
        if self.visitor == "new" and self.days_since_last_visit_min:
            _fail("days_since_last_visit_min", "a new visitor has no last visit: unset it")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            _fail("ends_at", "ends_at must be after starts_at")
        if self.exit_intent and self.devices and "desktop" not in self.devices:
            _fail("exit_intent", "exit intent is detected on desktop only: add desktop to devices")
        return self


class Button(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=80)
    payload: str = Field(min_length=1, max_length=200)


class Content(BaseModel):
    """What a variant says. For kind nps, ``question`` is the survey question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(None, max_length=1000)
    quick_replies: list[str] = Field(default_factory=list, max_length=10)
    buttons: list[Button] = Field(default_factory=list, max_length=5)
    products: bool = False
    followup: str | None = Field(None, max_length=1000)
    question: str | None = Field(None, max_length=300)

    @field_validator("quick_replies")
    @classmethod
    def _replies(cls, value: list[str]) -> list[str]:
        if any(not r.strip() or len(r) > 80 for r in value):
            raise ValueError("each quick reply must have 1 to 80 characters")
        return value


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1, max_length=32)
    weight: float = Field(gt=0, le=1)
    content: Content

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if value.lower() == CONTROL:
            raise ValueError(
                '"control" is reserved for the holdout (set holdout instead of a control variant)'
            )
        if not re.fullmatch(r"[A-Z0-9_]{1,32}", value):
            raise ValueError(f"{value!r}: a variant key is A-Z, 0-9 and _ (at most 32)")
        return value


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: GoalType
    name: str | None = Field(None, max_length=100)
    window_hours: int = Field(72, ge=1, le=720)

    @model_validator(mode="after")
    def _name(self) -> Goal:
        if self.type == "conversion" and not self.name:
            _fail("name", "a conversion goal needs the goal's name (one of CONVERSION_GOALS)")
        if self.type != "conversion" and self.name:
            _fail("name", f"a {self.type} goal has no name")
        return self


class CampaignDraft(BaseModel):
    """A whole campaign as a marketer writes it (stored in the ``campaigns`` row)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    kind: Kind = "bot"
    priority: int = Field(0, ge=-1000, le=1000)
    rules: CampaignRules = Field(default_factory=CampaignRules)
    variants: list[Variant] = Field(min_length=1, max_length=5)
    holdout: float = Field(0.1, ge=0, le=0.9)
    goal: Goal
    per_visitor_cap: int = Field(1, ge=1, le=100)
    cooldown_hours: int = Field(72, ge=0, le=8760)
    agent_id: int | None = Field(None, ge=1, le=ID_MAX)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the name may not be blank")
        return value.strip()

    @model_validator(mode="after")
    def _whole(self) -> CampaignDraft:
        keys = [v.key for v in self.variants]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            _fail("variants", f"variant keys must be unique: {', '.join(dupes)} repeated")
        total = sum(v.weight for v in self.variants)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            _fail(
                "variants",
                f"variant weights must add up to 1 (they add up to {round(total, 6)}); "
                "the holdout is set apart by holdout, not by a weight",
            )
        for i, v in enumerate(self.variants):
            if self.kind == "nps" and not v.content.question:
                _fail(f"variants.{i}.content.question", "an NPS campaign needs the question")
            if self.kind != "nps" and not (v.content.text or "").strip():
                _fail(f"variants.{i}.content.text", "the opener needs a text")
        if self.kind == "agent" and self.agent_id is None:
            _fail("agent_id", "a campaign of kind agent needs agent_id (who writes the opener)")
        if self.kind != "agent" and self.agent_id is not None:
            _fail("agent_id", "agent_id is only for campaigns of kind agent")
        if self.kind == "nps" and self.goal.type != "nps":
            _fail("goal.type", "an NPS campaign's goal is nps")
        return self

    def allocation(self) -> list[tuple[str, float]]:
        """Arms and their shares, summing to 1: the variants of the treated share, then control."""
        treated = 1.0 - self.holdout
        arms = [(v.key, v.weight * treated) for v in self.variants]
        if self.holdout > 0:
            arms.append((CONTROL, self.holdout))
        return arms


class RuleErrors(ValueError):
    """Field-level validation messages: ``[{"field": "rules.url_include.0", "message": ...}]``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as ``{field, message}`` with readable messages."""
    out = []
    for err in exc.errors():
        path = [str(p) for p in err["loc"]]
        message = str(err["msg"]).removeprefix("Value error, ")
        named = re.match(r"\[([\w.]+)\] (.*)", message, re.DOTALL)
        if named:
            path.append(named[1])
            message = named[2]
        out.append({"field": ".".join(path) or "body", "message": message})
    return out


class CampaignPatch(BaseModel):
    """A PATCH body: any of the draft's fields; ``rules`` and ``variants`` are replaced whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, min_length=1, max_length=100)
    kind: Kind | None = None
    priority: int | None = Field(None, ge=-1000, le=1000)
    rules: CampaignRules | None = None
    variants: list[Variant] | None = Field(None, min_length=1, max_length=5)
    holdout: float | None = Field(None, ge=0, le=0.9)
    goal: Goal | None = None
    per_visitor_cap: int | None = Field(None, ge=1, le=100)
    cooldown_hours: int | None = Field(None, ge=0, le=8760)
    agent_id: int | None = Field(None, ge=1, le=ID_MAX)


def _safe(key: Any) -> str:
    return str(key).encode("utf-8", "backslashreplace").decode()[:100]


def text_errors(data: Any, path: str = "") -> list[dict[str, str]]:
    """Strings no database can store (lone surrogates, NUL), by field."""
    found: list[dict[str, str]] = []
    stack: list[tuple[str, Any]] = [(path, data)]
    while stack and len(found) < 20:
        where, value = stack.pop()
        if isinstance(value, dict):
            prefix = f"{where}." if where else ""
            stack.extend((prefix + _safe(k), v) for k, v in value.items())
            stack.extend((where or "body", k) for k in value if isinstance(k, str))
        elif isinstance(value, list):
            stack.extend((f"{where}.{i}" if where else str(i), v) for i, v in enumerate(value))
        elif isinstance(value, str):
            try:
                well_formed(value)
            except ValueError as exc:
                found.append({"field": where or "body", "message": str(exc)})
    return found


def parse_draft(data: Any, goals: frozenset[str]) -> CampaignDraft:
    """Validate a campaign; ``goals`` are the configured conversion goal names."""
    bad_text = text_errors(data)
    if bad_text:
        raise RuleErrors(bad_text)
    try:
        draft = CampaignDraft.model_validate(data)
    except ValidationError as exc:
        raise RuleErrors(field_errors(exc)) from None
    if draft.goal.type == "conversion" and draft.goal.name not in goals:
        known = ", ".join(sorted(goals)) or "none configured"
        message = f"unknown conversion goal {draft.goal.name!r} (CONVERSION_GOALS: {known})"
        raise RuleErrors([{"field": "goal.name", "message": message}])
    return draft


def schedule_errors(rules: CampaignRules, now: datetime) -> list[dict[str, str]]:
    """What is wrong with the dates at ``now`` (an end already past)."""
    if rules.ends_at is not None and rules.ends_at <= now:
        return [{"field": "rules.ends_at", "message": "ends_at is in the past"}]
    return []
