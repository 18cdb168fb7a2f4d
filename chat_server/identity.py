"""Server-issued, signed visitor session ids.

A session id is ``<visitor id>.<signature>``. Only ids this server signed are
accepted, so a client cannot pick another visitor's id; a forged, malformed or
unknown id simply earns a fresh one.
"""

from __future__ import annotations

import re
import uuid

from itsdangerous import BadSignature, Signer

_VISITOR_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_TOKEN_LENGTH = 200


class VisitorIds:
    """Issues and verifies signed visitor session ids."""

    def __init__(self, secret_key: str) -> None:
        self._signer = Signer(secret_key, salt="rapport.visitor-session")

    def issue(self) -> tuple[str, str]:
        """A new visitor id and the signed session id to hand to the client."""
        visitor_id = uuid.uuid4().hex
        return visitor_id, self.sign(visitor_id)

    def sign(self, visitor_id: str) -> str:
        return self._signer.sign(visitor_id).decode()

    def verify(self, token: object) -> str | None:
        """The visitor id inside a genuine session id, else None."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        if not token.isascii():  # genuine ids are ASCII; a lone surrogate cannot even be encoded
            return None
        try:
            visitor_id = self._signer.unsign(token).decode()
        except (BadSignature, UnicodeDecodeError):
            return None
        return visitor_id if _VISITOR_ID.match(visitor_id) else None
