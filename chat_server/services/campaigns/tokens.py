"""Watch tokens: what the server signs in `campaign_watch` and checks in `campaign_ready`.

``<issued_at>.<hex HMAC-SHA256(SECRET_KEY, "campaign_id|visitor_id|issued_at")>``:
a token is good for one campaign, one visitor, and ``max_age`` seconds. A
client cannot claim a campaign it was never offered, nor reuse another
visitor's offer.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from chat_server.errors import Invalid

# How long a watch stays valid (a visitor may read a page for a while).
TOKEN_MAX_AGE = 3600


class InvalidCampaignToken(Invalid):
    """The token is forged, for another visitor or campaign, or expired."""

    code = "invalid_campaign_token"


class WatchTokens:
    def __init__(self, secret: str, max_age: int = TOKEN_MAX_AGE) -> None:
        self._key = hashlib.sha256(b"campaign-watch:" + secret.encode()).digest()
        self._max_age = max_age

    def _mac(self, campaign_id: int, visitor_id: str, issued_at: int) -> str:
        message = f"{campaign_id}|{visitor_id}|{issued_at}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self, campaign_id: int, visitor_id: str, now: float | None = None) -> str:
        issued_at = int(time.time() if now is None else now)
        return f"{issued_at}.{self._mac(campaign_id, visitor_id, issued_at)}"

    def verify(
        self, token: str, campaign_id: int, visitor_id: str, now: float | None = None
    ) -> None:
        """Raise InvalidCampaignToken unless ``token`` was issued for these, recently."""
        issued, _, mac = token.partition(".")
        if not issued.isdigit() or len(issued) > 12:
            raise InvalidCampaignToken("This campaign token is malformed.")
        issued_at = int(issued)
        if not hmac.compare_digest(mac, self._mac(campaign_id, visitor_id, issued_at)):
            raise InvalidCampaignToken("This campaign token was not issued for you.")
        age = (time.time() if now is None else now) - issued_at
        if age > self._max_age or age < -60:
            raise InvalidCampaignToken("This campaign token has expired: reload the page.")
