"""Identity verification for logged-in customers (HMAC-SHA256).

The site's backend computes ``hex(hmac_sha256(IDENTITY_SECRET, user_id))`` and
the page passes it to the widget with the user id. With a secret configured,
a claim without a matching hash is refused, so nobody can read another
customer's conversations by typing their user id. Without a secret every
claim is refused: an unverifiable claim is never trusted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError

from chat_server.protocol.visitor import IDENTITY_REJECTED, ProtocolError

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class IdentityClaim(BaseModel):
    """What the host page says about the visitor."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    user_id: str = Field(min_length=1, max_length=200)
    user_hash: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None


def user_hash(secret: str, user_id: str) -> str:
    """The hash a site's backend must send for ``user_id`` (hex SHA-256 HMAC)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verify_claim(data: Any, secret: str | None) -> IdentityClaim | None:
    """The verified claim, None when there is none; ProtocolError when refused.

    Without a configured secret nothing can be verified, so every claim is
    refused (``make run`` generates a secret; see docs/security.md).
    """
    if data is None:
        return None
    if secret is None:
        raise ProtocolError(
            IDENTITY_REJECTED,
            "Identity verification is not configured on this server (IDENTITY_SECRET).",
        )
    try:
        claim = IdentityClaim.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(IDENTITY_REJECTED, "The identity claim is malformed.") from exc
    given = (claim.user_hash or "").lower()
    if not _HEX64.match(given) or not hmac.compare_digest(given, user_hash(secret, claim.user_id)):
        raise ProtocolError(IDENTITY_REJECTED, "The identity could not be verified.")
    return claim
