"""The visitor wire protocol: event names and payload schemas in one place.

The default namespace speaks the event protocol of Rasa's socketio channel so
existing Rasa widgets (rasa-webchat) work unchanged; see docs/protocol.md.

Why one file over 400 lines: the rule is one protocol module per audience
(ARCHITECTURE.md), so everything a widget may send or receive is read in one
place, next to docs/protocol.md; `python -m chat_server.protocol.js` generates
the widget's constants from it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator

from chat_server.protocol.ids import RowId
from chat_server.protocol.text import clean_text, is_blank, printable

# Client → server
SESSION_REQUEST = "session_request"
USER_UTTERED = "user_uttered"
CARD_CLICKED = "card_clicked"
VISITOR_TYPING = "visitor_typing"  # Rapport clients only
CSAT_SUBMITTED = "csat_submitted"  # Rapport clients only
# Analytics (Rapport clients only; docs/analytics.md).
PAGE_VIEW = "page_view"
PAGE_LEFT = "page_left"
WIDGET_OPENED = "widget_opened"
WIDGET_CLOSED = "widget_closed"
TRACK = "track"  # Rapport.track(name, properties): acked
# Proactive campaigns (Rapport clients only; docs/campaigns.md).
CAMPAIGN_READY = "campaign_ready"  # the watched condition holds on the page
SITE_TRIGGER = "site_trigger"  # Rapport.trigger(name, data)
CAMPAIGN_DISMISSED = "campaign_dismissed"
NPS_SUBMITTED = "nps_submitted"
EMAIL_TRANSCRIPT = "email_transcript"  # "Email me this conversation": acked

# Server → client
SESSION_CONFIRM = "session_confirm"
BOT_UTTERED = "bot_uttered"
HISTORY = "history"
ERROR = "error"
# Sent only to clients that announced ``rapport: 1`` in session_request.
HANDOFF_STATUS = "handoff_status"
AGENT_TYPING = "agent_typing"
CSAT_REQUEST = "csat_request"
CSAT_RECORDED = "csat_recorded"
# Live delivery between server nodes had a gap (Redis was unreachable): ask
# for what follows the position held (session_request again with after_seq).
RESYNC = "resync"
# Proactive campaigns: what to watch for on this page, and an opener shown.
CAMPAIGN_WATCH = "campaign_watch"
CAMPAIGN_SHOWN = "campaign_shown"

# The capability flag a Rapport widget sends in session_request. Clients
# without it (rasa-webchat) get only Rasa's socketio payloads: rasa-webchat
# renders nothing for a bot_uttered with unknown keys.
RAPPORT_CAPABILITY = "rapport"

# Handoff states as the visitor sees them (handoff_status.state).
STATE_BOT = "bot"
STATE_QUEUED = "queued"
STATE_ASSIGNED = "assigned"
STATE_RESOLVED = "resolved"

# Error codes sent in ERROR events.
INVALID_PAYLOAD = "invalid_payload"
EMPTY_MESSAGE = "empty_message"
MESSAGE_TOO_LONG = "message_too_long"
INVALID_SESSION = "invalid_session"
IDENTITY_REJECTED = "identity_rejected"
UNKNOWN_PRODUCT = "unknown_product"
RATE_LIMITED = "rate_limited"
TOO_MANY_CONNECTIONS = "too_many_connections"
IDENTIFY_TIMEOUT = "identify_timeout"
# The database is unreachable (transport/guard.py): nothing was stored; the ack
# carries retry_after and the client sends the same message again.
UNAVAILABLE = "unavailable"
INVALID_GOAL = "invalid_goal"
UNKNOWN_GOAL = "unknown_goal"
# Campaigns: a ready/dismiss/NPS for a campaign that is not running (or never
# was), and a watch token that is forged, for someone else or expired.
NO_CONFIRMED_EMAIL = "no_confirmed_email"  # email_transcript: no verified/confirmed address
NOTHING_TO_SEND = "nothing_to_send"  # email_transcript: no conversation yet
UNKNOWN_CAMPAIGN = "unknown_campaign"
INVALID_CAMPAIGN_TOKEN = "invalid_campaign_token"  # noqa: S105 - an error code

# What a visitor is told when a rate limit refuses them, by limit name.
SLOW_DOWN = {
    "messages": "You're sending messages very quickly. Please wait a moment and try again.",
    "card_clicks": "Too many clicks in a short time. Please wait a moment.",
    "track": "Too many tracking calls in a short time; this one was not recorded.",
    "campaign_triggers": "Too many triggers in a short time; this one was ignored.",
    "new_visitors": "Too many new chats from your network. Please try again later.",
    "bot_turns": "Our assistant is busy with many messages from your network. "
    "Please wait a moment and try again.",
}


_M = TypeVar("_M", bound=BaseModel)


class ProtocolError(Exception):
    """A client sent something the protocol does not allow."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def as_event(self) -> dict[str, Any]:
        event: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            event["retry_after"] = self.retry_after
        return event


def slow_down(limit: str, retry_after: int) -> ProtocolError:
    """The error for a request a rate limit refused."""
    text = SLOW_DOWN.get(limit, "Too many requests. Please wait a moment.")
    return ProtocolError(RATE_LIMITED, text, retry_after)


class SessionRequest(BaseModel):
    """`session_request`: the id the client kept, if any."""

    model_config = ConfigDict(extra="ignore")
    session_id: Any = None


# A client's own name for a message: retries carry the same one.
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


class UserUttered(BaseModel):
    """`user_uttered`: one visitor message."""

    model_config = ConfigDict(extra="ignore")
    message: StrictStr
    session_id: Any = None
    client_id: StrictStr | None = Field(None, pattern=CLIENT_ID_PATTERN)
    customData: dict[str, Any] | None = None  # noqa: N815 - Rasa's wire name


class VisitorTyping(BaseModel):
    """`visitor_typing`: the visitor started or stopped typing."""

    model_config = ConfigDict(extra="ignore")
    typing: bool


class CsatSubmitted(BaseModel):
    """`csat_submitted`: the visitor's rating of a resolved conversation."""

    model_config = ConfigDict(extra="ignore")
    conversation_id: RowId
    score: int = Field(ge=1, le=5)
    comment: StrictStr | None = Field(None, max_length=1000)

    @field_validator("comment")
    @classmethod
    def _valid_text(cls, value: str | None) -> str | None:
        return clean_text(value) if value is not None else None


class CardClicked(BaseModel):
    """`card_clicked`: the visitor opened a product card."""

    model_config = ConfigDict(extra="ignore")
    session_id: Any = None
    product_id: StrictStr = Field(min_length=1, max_length=100)


MAX_URL = 2000
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def _web_url(value: str | None) -> str | None:
    """An http(s) URL of printable characters (cut to MAX_URL), or None."""
    if value is None or value == "":
        return None
    if not value.startswith(("http://", "https://")) or not value.isprintable():
        raise ValueError("expected an http(s) URL")
    return value[:MAX_URL]


class PageView(BaseModel):
    """`page_view`: the widget loaded on a page (or the page navigated)."""

    model_config = ConfigDict(extra="ignore")
    url: StrictStr = Field(max_length=8000)
    title: StrictStr | None = Field(None, max_length=1000)
    referrer: StrictStr | None = Field(None, max_length=8000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        url = _web_url(value)
        if url is None:
            raise ValueError("expected an http(s) URL")
        return url

    @field_validator("referrer")
    @classmethod
    def _referrer(cls, value: str | None) -> str | None:
        return _web_url(value)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return clean_text(value)[:300] if value else None


class PageLeft(BaseModel):
    """`page_left`: the page was hidden or closed after ``seconds`` on it."""

    model_config = ConfigDict(extra="ignore")
    url: StrictStr = Field(max_length=8000)
    seconds: float = Field(ge=0, le=7 * 86400, allow_inf_nan=False)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        url = _web_url(value)
        if url is None:
            raise ValueError("expected an http(s) URL")
        return url


class WidgetToggled(BaseModel):
    """`widget_opened` / `widget_closed`: the chat window was opened or closed."""

    model_config = ConfigDict(extra="ignore")
    url: StrictStr | None = Field(None, max_length=8000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _web_url(value)


class GoalProperties(BaseModel):
    """The properties of a conversion goal; nothing else is accepted."""

    model_config = ConfigDict(extra="forbid")
    value: float = Field(0.0, ge=0, lt=1e9, allow_inf_nan=False, strict=False)
    currency: StrictStr | None = Field(None, pattern=r"^[A-Z]{3}$")
    order_id: StrictStr | None = Field(None, min_length=1, max_length=100)
    # Set by the site's backend: hex HMAC-SHA256 (docs/tracking.md, "Verified revenue").
    signature: StrictStr | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")

    @field_validator("value", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        # A bool is an int to Python; a string "129" is a bug in the caller.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("value must be a number")
        return value

    @field_validator("order_id")
    @classmethod
    def _order_id(cls, value: str | None) -> str | None:
        # The same rule as the conversion API's conversion_id (protocol/conversions.py).
        return None if value is None else printable(value)


class Track(BaseModel):
    """`track`: a conversion goal reported by the host page (Rapport.track)."""

    model_config = ConfigDict(extra="forbid")
    name: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")
    properties: GoalProperties = Field(default_factory=GoalProperties)
    url: StrictStr | None = Field(None, max_length=8000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _web_url(value)


def _parse(model: type[_M], data: Any, expects: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(INVALID_PAYLOAD, f"{expects}") from exc


def parse_page_view(data: Any) -> PageView:
    """Validate a `page_view` payload or raise ProtocolError."""
    return _parse(PageView, data, "page_view expects {url: http(s) URL, title?, referrer?}")


def parse_page_left(data: Any) -> PageLeft:
    """Validate a `page_left` payload or raise ProtocolError."""
    return _parse(PageLeft, data, "page_left expects {url: http(s) URL, seconds: number}")


def parse_widget_toggled(data: Any) -> WidgetToggled:
    """Validate a `widget_opened`/`widget_closed` payload or raise ProtocolError."""
    return _parse(WidgetToggled, data if data is not None else {}, "expects {url?}")


def parse_track(data: Any) -> Track:
    """Validate a `track` payload or raise ProtocolError (code ``invalid_goal``).

    The reason names the first offending field, so a developer calling
    Rapport.track() from the console sees what to fix.
    """
    try:
        return Track.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise ProtocolError(
            INVALID_GOAL,
            f"track(name, {{value, currency, order_id, signature}}): {where}: {first['msg']}",
        ) from None


def wants_rapport_extras(data: Any) -> bool:
    """Whether the client announced it understands Rapport's extension fields."""
    return isinstance(data, dict) and data.get(RAPPORT_CAPABILITY) == 1


def parse_visitor_typing(data: Any) -> VisitorTyping:
    """Validate a `visitor_typing` payload or raise ProtocolError."""
    try:
        return VisitorTyping.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(INVALID_PAYLOAD, "visitor_typing expects {typing: bool}") from exc


def parse_csat(data: Any) -> CsatSubmitted:
    """Validate a `csat_submitted` payload or raise ProtocolError."""
    try:
        return CsatSubmitted.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(
            INVALID_PAYLOAD, "csat_submitted expects {conversation_id, score: 1-5, comment?}"
        ) from exc


def parse_session_request(data: Any) -> str | None:
    """Return the session id a client presented (None when absent or not a str).

    rasa-webchat sends ``{"session_id": ...}``; a bare string or nothing is
    accepted too, since a bad id only means the visitor gets a fresh one.
    """
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        value = SessionRequest.model_validate(data).session_id
        return value if isinstance(value, str) else None
    return None


def parse_last_message_id(data: Any) -> int | None:
    """`session_request.last_message_id`: the newest message id the client has."""
    value = data.get("last_message_id") if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def parse_after_seq(data: Any) -> int | None:
    """`session_request.after_seq`: the client holds every message numbered up to it."""
    value = data.get("after_seq") if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31:
        return value
    return None


def parse_user_uttered(data: Any, max_chars: int) -> UserUttered:
    """Validate a `user_uttered` payload or raise ProtocolError."""
    if not isinstance(data, dict):
        raise ProtocolError(
            INVALID_PAYLOAD, "user_uttered expects an object with a 'message' string"
        )
    try:
        event = UserUttered.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(
            INVALID_PAYLOAD,
            "user_uttered expects an object with a 'message' string "
            "(and an optional 'client_id' of 8-64 letters, digits, '-' or '_')",
        ) from exc
    try:
        event.message = clean_text(event.message)
    except ValueError:
        raise ProtocolError(
            INVALID_PAYLOAD, "The message contains characters that are not valid text."
        ) from None
    if is_blank(event.message):
        raise ProtocolError(EMPTY_MESSAGE, "The message is empty.")
    if len(event.message) > max_chars:
        raise ProtocolError(MESSAGE_TOO_LONG, f"Messages are limited to {max_chars} characters.")
    return event


def parse_card_clicked(data: Any) -> CardClicked:
    """Validate a `card_clicked` payload or raise ProtocolError."""
    try:
        return CardClicked.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(
            INVALID_PAYLOAD, "card_clicked expects {session_id, product_id}"
        ) from exc


def page_url(custom_data: dict[str, Any] | None) -> str | None:
    """The page the visitor was on, from `customData.page_url`, if sane."""
    if not custom_data:
        return None
    value = custom_data.get("page_url")
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        value = value[:2000]
        # No control, invisible or unencodable characters (a lone surrogate
        # cannot be stored); such a URL is dropped, the message still counts.
        return value if value.isprintable() else None
    return None


def to_bot_uttered(rasa_message: dict[str, Any]) -> dict[str, Any]:
    """Turn one Rasa REST-channel message into a `bot_uttered` payload.

    Mirrors Rasa's SocketIOOutput: buttons become quick replies when they are
    plain postbacks (as rasa-webchat expects), images become attachments.
    """
    out: dict[str, Any] = {}
    if rasa_message.get("text"):
        out["text"] = rasa_message["text"]
    buttons = rasa_message.get("buttons") or []
    if buttons:
        out["quick_replies"] = [
            {"content_type": "text", "title": b.get("title", ""), "payload": b.get("payload", "")}
            for b in buttons
            if isinstance(b, dict)
        ]
    if rasa_message.get("image"):
        out["attachment"] = {"type": "image", "payload": {"src": rasa_message["image"]}}
    if rasa_message.get("attachment"):
        out["attachment"] = rasa_message["attachment"]
    if rasa_message.get("custom") is not None:
        out["custom"] = rasa_message["custom"]
    return out


# Markers Rapport adds to its own messages (e.g. to style a warning). Plain
# Rasa clients must not get them: rasa-webchat renders nothing for a
# bot_uttered whose keys it does not know ({text, custom} included).
RAPPORT_MARKERS = ("assistant_unavailable", "followup_offer")


def split_for_plain_clients(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what every client gets, what only Rapport clients get in addition)."""
    custom = payload.get("custom")
    if isinstance(custom, dict) and custom.get("type") in RAPPORT_MARKERS and payload.get("text"):
        return {k: v for k, v in payload.items() if k != "custom"}, {"custom": custom}
    return payload, {}


# Custom payloads the bot sends to the chat server, never shown to visitors.
CONTROL_KEYS = ("handoff", "fallback", "privacy")


def control_of(rasa_message: dict[str, Any]) -> dict[str, Any] | None:
    """The control instruction inside a Rasa message (``{"handoff": ...}``), if any.

    Rasa's REST channel delivers ``json_message`` payloads as ``custom``.
    """
    custom = rasa_message.get("custom")
    if isinstance(custom, dict) and any(k in custom for k in CONTROL_KEYS):
        return custom
    return None


# -- proactive campaigns (Rapport widgets; docs/campaigns.md) -----------------

TRIGGER_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.:-]{0,49}$"


class CampaignReady(BaseModel):
    """`campaign_ready`: the watched condition of a `campaign_watch` holds on the page."""

    model_config = ConfigDict(extra="ignore")
    campaign_id: RowId
    token: StrictStr = Field(min_length=1, max_length=300)
    url: StrictStr | None = Field(None, max_length=8000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _web_url(value)


class SiteTrigger(BaseModel):
    """`site_trigger`: ``Rapport.trigger(name, data)`` from the host page."""

    model_config = ConfigDict(extra="ignore")
    name: StrictStr = Field(pattern=TRIGGER_NAME_PATTERN)
    data: dict[str, Any] | None = None
    url: StrictStr | None = Field(None, max_length=8000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _web_url(value)


class CampaignDismissed(BaseModel):
    """`campaign_dismissed`: the visitor closed a campaign's teaser."""

    model_config = ConfigDict(extra="ignore")
    campaign_id: RowId


class NpsSubmitted(BaseModel):
    """`nps_submitted`: the visitor's 0-10 answer to an NPS campaign."""

    model_config = ConfigDict(extra="ignore")
    campaign_id: RowId
    score: int = Field(ge=0, le=10, strict=True)


def parse_campaign_ready(data: Any) -> CampaignReady:
    """Validate a `campaign_ready` payload or raise ProtocolError."""
    return _parse(CampaignReady, data, "campaign_ready expects {campaign_id, token, url?}")


def parse_site_trigger(data: Any) -> SiteTrigger:
    """Validate a `site_trigger` payload or raise ProtocolError."""
    return _parse(
        SiteTrigger, data, "site_trigger expects {name: letters, digits, _.:- (max 50), data?}"
    )


def parse_campaign_dismissed(data: Any) -> CampaignDismissed:
    """Validate a `campaign_dismissed` payload or raise ProtocolError."""
    return _parse(CampaignDismissed, data, "campaign_dismissed expects {campaign_id}")


def parse_nps(data: Any) -> NpsSubmitted:
    """Validate an `nps_submitted` payload or raise ProtocolError."""
    return _parse(NpsSubmitted, data, "nps_submitted expects {campaign_id, score: 0-10}")
