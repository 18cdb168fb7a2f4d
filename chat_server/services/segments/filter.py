"""The segment filter: ``{"match": "all"|"any", "conditions": [{field, op, value}]}``.

Validated against the field registry (fields.py): an unknown field, an
operator the field's type does not allow, a value of the wrong type or out of
range is refused with a message that names the condition. No conditions
match every visitor. The JSON Schema of a condition is generated from the
registry (one alternative per field and operator group), so the OpenAPI
document states every rule the server enforces.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from chat_server import errors
from chat_server.protocol.text import NO_NUL_PATTERN, VisibleText, WellFormedText, well_formed
from chat_server.services.segments.fields import (
    BY_NAME,
    FIELDS,
    LIST_OPERATORS,
    NO_VALUE_OPERATORS,
    SegmentField,
)

MAX_CONDITIONS = 20
MAX_LIST = 50
MAX_TEXT = 100
MAX_NAME = 100
MAX_DESCRIPTION = 2000


class InvalidFilter(errors.Invalid):
    """A segment filter that does not fit the field registry."""

    code = "invalid_filter"


def _check_text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be text")
    if not 1 <= len(value) <= MAX_TEXT:
        raise ValueError(f"{where} must be 1-{MAX_TEXT} characters")
    return well_formed(value)


def _check_number(spec: SegmentField, value: object, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number")
    if spec.type in ("int", "days_ago"):
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"{where} must be a whole number")
            value = int(value)
    else:
        value = float(value)
    if spec.low is not None and value < spec.low:
        what = "days" if spec.type == "days_ago" else "the value"
        raise ValueError(f"{where}: {what} must be at least {spec.low:g}")
    if spec.high is not None and value > spec.high:
        raise ValueError(f"{where} must be at most {spec.high:g}")
    return value


def _check_scalar(spec: SegmentField, value: Any, where: str) -> Any:
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false")
        return value
    if spec.type in ("int", "float", "days_ago"):
        return _check_number(spec, value, where)
    text = _check_text(value, where)
    if spec.type == "enum" and text not in spec.options:
        raise ValueError(f"{where} must be one of: {', '.join(spec.options)}")
    return text


class Condition(BaseModel):
    """One test of one field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    op: str
    value: Any = None

    @model_validator(mode="after")
    def _fits_registry(self) -> Condition:
        spec = BY_NAME.get(self.field)
        if spec is None:
            shown = self.field[:40]
            raise ValueError(f"unknown field {shown!r}; fields: {', '.join(BY_NAME)}")
        allowed = spec.allowed()
        if self.op not in allowed:
            raise ValueError(
                f"operator {self.op[:20]!r} is not allowed for {spec.name} ({spec.type}); "
                f"allowed: {', '.join(allowed)}"
            )
        where = f"value of {spec.name} {self.op}"
        if self.op in NO_VALUE_OPERATORS:
            if self.value is not None:
                raise ValueError(f"{self.op} takes no value")
            return self
        if self.op in LIST_OPERATORS:
            if not isinstance(self.value, list) or not 1 <= len(self.value) <= MAX_LIST:
                raise ValueError(f"{where} must be a list of 1-{MAX_LIST} values")
            checked: Any = tuple(_check_scalar(spec, v, where) for v in self.value)
        else:
            if self.value is None or isinstance(self.value, list | dict):
                raise ValueError(f"{where} must be a single value")
            checked = _check_scalar(spec, self.value, where)
        object.__setattr__(self, "value", checked)
        return self

    @property
    def spec(self) -> SegmentField:
        return BY_NAME[self.field]


def _value_schema(spec: SegmentField) -> dict[str, Any]:
    if spec.type == "bool":
        return {"type": "boolean"}
    if spec.type in ("int", "float", "days_ago"):
        schema: dict[str, Any] = {"type": "number" if spec.type == "float" else "integer"}
        if spec.low is not None:
            schema["minimum"] = spec.low
        if spec.high is not None:
            schema["maximum"] = spec.high
        return schema
    if spec.type == "enum":
        return {"type": "string", "enum": list(spec.options)}
    return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": NO_NUL_PATTERN}


def condition_schema() -> dict[str, Any]:
    """JSON Schema of one condition: one alternative per field and operator group."""
    options: list[dict[str, Any]] = []
    for spec in FIELDS:
        allowed = spec.allowed()
        scalar = [op for op in allowed if op not in LIST_OPERATORS | NO_VALUE_OPERATORS]
        listed = [op for op in allowed if op in LIST_OPERATORS]
        bare = [op for op in allowed if op in NO_VALUE_OPERATORS]
        value = _value_schema(spec)
        groups: list[tuple[list[str], dict[str, Any] | None]] = [
            (scalar, value),
            (listed, {"type": "array", "items": value, "minItems": 1, "maxItems": MAX_LIST}),
            (bare, None),
        ]
        for ops, schema in groups:
            if not ops:
                continue
            properties: dict[str, Any] = {
                "field": {"const": spec.name},
                "op": {"enum": ops},
                "value": schema if schema is not None else {"type": "null"},
            }
            required = ["field", "op"] + (["value"] if schema is not None else [])
            options.append(
                {
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": False,
                }
            )
    return {"anyOf": options}


Conditions = Annotated[
    list[Condition],
    Field(max_length=MAX_CONDITIONS),
    WithJsonSchema({"type": "array", "items": condition_schema(), "maxItems": MAX_CONDITIONS}),
]


class Filter(BaseModel):
    """Who is in a segment: all (or any) of the conditions hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: Literal["all", "any"] = "all"
    conditions: Conditions = []

    @model_validator(mode="before")
    @classmethod
    def _few_enough(cls, data: Any) -> Any:
        # Before validating each one: 1,000 conditions are refused at once.
        if isinstance(data, dict):
            conditions = data.get("conditions")
            if isinstance(conditions, list) and len(conditions) > MAX_CONDITIONS:
                raise ValueError(f"at most {MAX_CONDITIONS} conditions (got {len(conditions)})")
        return data

    def as_json(self) -> dict[str, Any]:
        return {
            "match": self.match,
            "conditions": [
                {"field": c.field, "op": c.op, "value": _plain(c.value)} for c in self.conditions
            ],
        }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def reasons(exc: ValidationError) -> str:
    """A ValidationError as one line per problem, naming where."""
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"]) or "filter"
        message = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def parse_filter(data: Any) -> Filter:
    """``data`` (decoded JSON) as a Filter; InvalidFilter with the reasons otherwise."""
    try:
        return Filter.model_validate(data)
    except ValidationError as exc:
        raise InvalidFilter(reasons(exc)) from None


# -- request bodies of /api/segments ---------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentCreate(_Strict):
    """``POST /api/segments``."""

    name: VisibleText = Field(max_length=MAX_NAME)
    description: WellFormedText | None = Field(None, max_length=MAX_DESCRIPTION)
    filter: Filter


class SegmentUpdate(_Strict):
    """``PATCH /api/segments/{id}``: the fields given change."""

    name: VisibleText | None = Field(None, max_length=MAX_NAME)
    description: WellFormedText | None = Field(None, max_length=MAX_DESCRIPTION)
    filter: Filter | None = None


class SegmentPreview(_Strict):
    """``POST /api/segments/preview``: the live size of a filter being edited."""

    filter: Filter
