"""Server-issued, signed, expiring visitor session ids.

A session id is ``<visitor id>.<generation>.<timestamp>.<signature>``. Only ids
this server signed are accepted, so a client cannot pick another visitor's
id; a forged, malformed, expired or unknown id simply earns a fresh one.

The timestamp gives a sliding expiry (every session confirmation issues a
fresh id); the generation lets the server retire every earlier copy of a
visitor's id at once (see ConversationService.start_session).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer, TimestampSigner

_VISITOR_ID = re.compile(r"^[0-9a-f]{32}$")
_PAYLOAD = re.compile(r"^([0-9a-f]{32})\.([0-9]{1,9})$")
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class SessionToken:
    """What a genuine session id says."""

    visitor_id: str
    generation: int
    # When it was signed (Unix time); 0 for legacy ids.
    issued_at: float = 0.0
    # Ids issued before expiry and rotation existed (no generation, no
    # timestamp): accepted once, then replaced.
    legacy: bool = False


class VisitorIds:
    """Issues and verifies signed visitor session ids."""

    def __init__(self, secret_key: str, max_age_seconds: int) -> None:
        self._signer = TimestampSigner(secret_key, salt="rapport.visitor-session.v2")
        self._legacy = Signer(secret_key, salt="rapport.visitor-session")
        self._max_age = max_age_seconds

    @staticmethod
    def new_visitor_id() -> str:
        return uuid.uuid4().hex

    def sign(self, visitor_id: str, generation: int) -> str:
        """A session id for ``visitor_id``, valid for the max age from now."""
        return self._signer.sign(f"{visitor_id}.{generation}").decode()

    def verify(self, token: object) -> SessionToken | None:
        """What a genuine, unexpired session id says, else None."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        if not token.isascii():  # genuine ids are ASCII; a lone surrogate cannot even be encoded
            return None
        try:
            raw, signed_at = self._signer.unsign(
                token, max_age=self._max_age, return_timestamp=True
            )
            value = raw.decode()
        except (BadSignature, UnicodeDecodeError):
            return self._verify_legacy(token)
        match = _PAYLOAD.match(value)
        if match is None:
            return None
        return SessionToken(match.group(1), int(match.group(2)), signed_at.timestamp())

    def _verify_legacy(self, token: str) -> SessionToken | None:
        try:
            visitor_id = self._legacy.unsign(token).decode()
        except (BadSignature, UnicodeDecodeError):
            return None
        if not _VISITOR_ID.match(visitor_id):
            return None
        return SessionToken(visitor_id, 0, legacy=True)
