"""Typed settings, read once at start-up from the environment, then `.env`.

Every setting has an environment variable of the same name in upper case
(e.g. ``database_url`` ← ``DATABASE_URL``). A missing required value or a
value that does not parse stops the server at start-up with a clear message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Configuration of one chat server process."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'rapport.db'}"
    # One Rasa server, or several separated by commas: turns are spread over
    # them in turn (they share the tracker store and a Redis lock store).
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: SecretStr | None = None
    action_server_url: str = "http://127.0.0.1:5055"
    # Several chat-server nodes: Socket.IO fan-out and who is online, shared
    # through this Redis (e.g. redis://redis:6379/0). Unset: one node.
    redis_url: str | None = None
    # Signs visitor session ids; rotate it and every visitor gets a new id.
    secret_key: SecretStr
    # Bearer token for the /api endpoints (export/delete); unset disables them.
    admin_token: SecretStr | None = None
    # Shared with the host site's backend to verify logged-in customers (HMAC).
    identity_secret: SecretStr | None = None
    # Seconds to wait for Rasa before telling the visitor the assistant is away.
    rasa_timeout: float = Field(15.0, gt=0)
    message_max_chars: int = Field(2000, ge=1)
    history_page_size: int = Field(50, ge=1, le=500)
    catalog_path: Path = PROJECT_ROOT / "bot" / "data" / "catalog.json"
    static_dir: Path = PROJECT_ROOT / "chat_server" / "static"
    # The demo store at / (make run and tests); production serves no demo.
    serve_demo: bool = False
    demo_dir: Path = PROJECT_ROOT / "demo"

    # -- handoff and agents -------------------------------------------------
    # Assign queued conversations to the least-loaded online agent at once;
    # off: agents pick from the queue themselves.
    auto_assign: bool = True
    # An agent whose last console connection dropped gets this long to come
    # back before their conversations return to the queue.
    agent_grace_seconds: float = Field(60.0, ge=0)
    # When people answer, e.g. "mon-fri 09:00-17:00 Europe/Berlin"; unset:
    # whenever an agent is online.
    support_hours: str | None = None
    # A bot conversation with no message for this long counts as finished;
    # the visitor's next message starts a new one.
    conversation_idle_minutes: int = Field(60, ge=1)
    agent_session_days: int = Field(14, ge=1)
    # Where the one-time password of the first admin is written (0600; make
    # run prints the path). Never logged; unset: no admin is created.
    initial_admin_password_file: Path | None = None
    log_level: str = "INFO"
    # "text" (one readable line per record) or "json" (one object per line).
    log_format: Literal["text", "json"] = "text"

    # -- privacy --------------------------------------------------------------
    # Closed conversations, analytics events and inactive visitors older than
    # this are deleted (docs/operations.md, "Privacy"); 0 keeps everything.
    retention_days: int = Field(365, ge=0)
    # How often the retention purge runs in the background.
    retention_check_hours: float = Field(6.0, gt=0)
    # Mask emails, phone numbers and card numbers in every log line.
    redact_pii: bool = True
    # Also mask them in interaction events (analytics) written from now on.
    redact_pii_in_analytics: bool = False

    # -- analytics --------------------------------------------------------------
    # Write the interaction event log (analytics, webhooks). Off: only consent
    # records are still written (they are the proof of consent, not analytics).
    interaction_log: bool = True
    # Goal names the host page may report with Rapport.track(name, ...).
    conversion_goals: str = "purchase,signup,add_to_cart,checkout,lead"
    # Currency of a conversion reported without one (ISO 4217).
    conversion_currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    # A conversion counts for chat when the visitor chatted this many days before.
    attribution_window_days: int = Field(7, ge=1, le=365)

    @property
    def conversion_goal_set(self) -> frozenset[str]:
        """CONVERSION_GOALS as a set of names."""
        return frozenset(g.strip() for g in self.conversion_goals.split(",") if g.strip())

    # -- webhooks ------------------------------------------------------------------
    # Allow webhook URLs on loopback or private networks (refused by default:
    # an admin account must not become a way into the internal network).
    webhook_allow_private: bool = False
    # First retry delay; each next one is 3x longer (at most 6 h), 8 attempts.
    webhook_retry_base_seconds: float = Field(10.0, gt=0)

    # -- identity and sessions ----------------------------------------------
    # A visitor's session id stops working after this long unused; every
    # visit re-issues it, so a regular visitor is remembered indefinitely.
    visitor_session_days: int = Field(180, ge=1)

    # -- origins --------------------------------------------------------------
    # Pages allowed to open the widget socket and call the HTTP API from a
    # browser, comma-separated (e.g. "https://shop.example,https://www.shop.example").
    # Unset: only pages served by this server itself. "*" allows any site.
    allowed_origins: str | None = None
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or
    # networks, e.g. "172.30.0.0/24"); without one, the peer address is the
    # client address.
    trusted_proxies: str = ""

    # -- limits ---------------------------------------------------------------
    # Rate limits in the `limits` notation ("N/period;M/period"); see docs/security.md.
    rate_limit_messages: str = "8/10 seconds;40/minute"  # per connection
    rate_limit_messages_per_ip: str = "120/minute"
    rate_limit_connections_per_ip: str = "60/minute"
    rate_limit_new_visitors_per_ip: str = "60/hour"
    rate_limit_card_clicks: str = "20/minute"  # per connection
    rate_limit_signals: str = "30/10 seconds"  # typing and ratings, per connection
    # Rapport.track() calls, page views and widget open/close, per connection.
    rate_limit_track: str = "30/minute"
    rate_limit_logins: str = "5/minute;20/hour"  # per address and user name
    rate_limit_logins_per_ip: str = "60/hour"
    max_connections_per_ip: int = Field(100, ge=1)
    # A socket that has not asked for a session by then is closed.
    identify_timeout_seconds: float = Field(30.0, gt=0)

    @property
    def trusted_proxy_set(self) -> frozenset[str]:
        """TRUSTED_PROXIES as a set of addresses."""
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    def rate_limit_rules(self) -> dict[str, str]:
        """The rate limits by name (chat_server/services/ratelimit.py)."""
        return {
            "messages": self.rate_limit_messages,
            "messages_per_ip": self.rate_limit_messages_per_ip,
            "connections_per_ip": self.rate_limit_connections_per_ip,
            "new_visitors_per_ip": self.rate_limit_new_visitors_per_ip,
            "card_clicks": self.rate_limit_card_clicks,
            "signals": self.rate_limit_signals,
            "track": self.rate_limit_track,
            "logins": self.rate_limit_logins,
            "logins_per_ip": self.rate_limit_logins_per_ip,
        }

    @field_validator("secret_key")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("SECRET_KEY must be at least 16 characters")
        return value

    @field_validator(
        "rate_limit_messages",
        "rate_limit_messages_per_ip",
        "rate_limit_connections_per_ip",
        "rate_limit_new_visitors_per_ip",
        "rate_limit_card_clicks",
        "rate_limit_signals",
        "rate_limit_track",
        "rate_limit_logins",
        "rate_limit_logins_per_ip",
    )
    @classmethod
    def _limits_parse(cls, value: str) -> str:
        from limits import parse_many

        parse_many(value)  # raises ValueError with the reason
        return value

    @field_validator("support_hours")
    @classmethod
    def _hours_parse(cls, value: str | None) -> str | None:
        if value:
            from chat_server.services.hours import SupportHours

            SupportHours.parse(value)  # raises ValueError with the reason
        return value or None

    @property
    def rasa_urls(self) -> list[str]:
        """RASA_URL as a list of base URLs."""
        return self.rasa_url.split(",")

    @field_validator("rasa_url", "action_server_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        urls = [u.strip().rstrip("/") for u in value.split(",") if u.strip()]
        if not urls or not all(u.startswith(("http://", "https://")) for u in urls):
            raise ValueError("expected http(s):// URLs, separated by commas")
        return ",".join(urls)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        from ipaddress import ip_network

        for entry in (e.strip() for e in value.split(",")):
            if entry:
                ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a redis://, rediss:// or unix:// URL")
        return value or None
