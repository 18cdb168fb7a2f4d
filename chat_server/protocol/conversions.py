"""`POST /api/conversions`: a conversion reported by the site's backend
(docs/tracking.md, "Verified revenue")."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, field_validator

from chat_server.protocol.ids import VISITOR_ID_PATTERN
from chat_server.protocol.text import PRINTABLE_PATTERN, Documented, printable

# Printable text (protocol/text.py UNPRINTABLE), not only spaces.
PrintableText = Annotated[
    StrictStr, AfterValidator(printable), Documented((("pattern", PRINTABLE_PATTERN),))
]


class ConversionReport(BaseModel):
    """One conversion the shop's backend vouches for."""

    model_config = ConfigDict(extra="forbid")
    # The shop's order id: the same id the page may pass to Rapport.track().
    conversion_id: PrintableText = Field(min_length=1, max_length=100)
    goal: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")
    value: float = Field(ge=0, lt=1e9, allow_inf_nan=False)
    currency: StrictStr | None = Field(None, pattern=r"^[A-Z]{3}$")
    # Who bought: the logged-in user id the site passes to the widget, or the
    # Rapport visitor id (as in the console and exports); both optional.
    customer_id: StrictStr | None = Field(None, min_length=1, max_length=200)
    visitor_id: StrictStr | None = Field(None, pattern=VISITOR_ID_PATTERN)

    @field_validator("value", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("value must be a number")
        return value
