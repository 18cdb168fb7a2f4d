"""Identity verification for logged-in customers (HMAC-SHA256).

The site's backend computes ``hex(hmac_sha256(IDENTITY_SECRET, user_id))`` and
the page passes it to the widget with the user id. With a secret configured,
a claim without a matching hash is refused, so nobody can read another
customer's conversations by typing their user id. Without a secret every
claim is refused: an unverifiable claim is never trusted.

A claim may also say the site has verified the customer's e-mail address
(``email_verified: true``); that word counts only when signed, over
``user_id + "\0email_verified=" + email`` (lower case) appended to the
message. A verified address is where Rapport may send the customer's own
transcript, and a newsletter request for it needs no confirmation mail
(docs/email.md).

Carrying an anonymous conversation over to the customer is opt-in and must be
vouched for by the same backend: a claim with ``merge_anonymous`` is signed
over ``user_id + "\\0merge_anonymous=" + merge_anonymous`` instead of the user
id alone (see ``signed_message``). A claim without the field is signed exactly
as before, so existing integrations keep verifying; a plain user hash never
verifies a claim that adds the field, so a page cannot add it by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError

from chat_server.protocol.visitor import IDENTITY_REJECTED, ProtocolError

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# The separator of the signed message; refused inside a user id, so the message
# of one claim can never equal the message of another.
SEPARATOR = "\x00"
MERGE_FIELD = "merge_anonymous"
VERIFIED_EMAIL_FIELD = "email_verified"


class IdentityClaim(BaseModel):
    """What the host page says about the visitor."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    user_id: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")
    user_hash: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    # The anonymous visitor (its id, or a session id of it) whose current
    # conversation the customer takes over; covered by the hash.
    merge_anonymous: str | None = Field(
        default=None, min_length=32, max_length=200, pattern=r"^[0-9a-f]{32}(\.[A-Za-z0-9._-]*)?$"
    )
    # The site vouches for ``email`` (covered by the hash when true).
    email_verified: bool = False

    @property
    def verified_email(self) -> str | None:
        """The address the site has verified and signed, if any (lower case)."""
        return str(self.email).lower() if self.email_verified and self.email else None

    @property
    def merge_visitor_id(self) -> str | None:
        """The anonymous visitor id ``merge_anonymous`` names, if any."""
        return self.merge_anonymous.split(".", 1)[0] if self.merge_anonymous else None


def signed_message(
    user_id: str, merge_anonymous: str | None = None, verified_email: str | None = None
) -> str:
    """What the identity hash is computed over."""
    message = user_id
    if merge_anonymous is not None:
        message += f"{SEPARATOR}{MERGE_FIELD}={merge_anonymous}"
    if verified_email is not None:
        message += f"{SEPARATOR}{VERIFIED_EMAIL_FIELD}={verified_email.lower()}"
    return message


def user_hash(
    secret: str,
    user_id: str,
    merge_anonymous: str | None = None,
    verified_email: str | None = None,
) -> str:
    """The hash a site's backend must send for ``user_id`` (hex SHA-256 HMAC),
    for the anonymous visitor it vouches may be carried over, and for the
    e-mail address it has verified, if any."""
    message = signed_message(user_id, merge_anonymous, verified_email)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


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
    if claim.email_verified and not claim.email:
        raise ProtocolError(IDENTITY_REJECTED, "email_verified needs the email it verifies.")
    given = (claim.user_hash or "").lower()
    expected = user_hash(secret, claim.user_id, claim.merge_anonymous, claim.verified_email)
    if not _HEX64.match(given) or not hmac.compare_digest(given, expected):
        raise ProtocolError(IDENTITY_REJECTED, "The identity could not be verified.")
    return claim
