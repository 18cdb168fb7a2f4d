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

    # -- database outages (issue 22 section 2) -----------------------------
    # Visitor messages stored but not answered (the database or the bot's
    # tracker store went away mid-turn) are looked for this often and answered.
    unanswered_sweep_seconds: float = Field(5.0, gt=0)
    # ... once they are this old, by creation or by a node's last claim: longer
    # than a bot turn (RASA_TIMEOUT), so a turn still running is never redone ...
    unanswered_min_age_seconds: float = Field(20.0, ge=0)
    # ... and no older than this: an answer hours late would make no sense.
    unanswered_max_age_minutes: float = Field(60.0, gt=0)

    # -- handoff and agents -------------------------------------------------
    # Assign queued conversations to the least-loaded online agent at once;
    # off: agents pick from the queue themselves.
    auto_assign: bool = True
    # An agent whose last console connection dropped gets this long to come
    # back before their conversations return to the queue.
    agent_grace_seconds: float = Field(60.0, ge=0)
    # -- routing when people come and go (issue 22 §3; services/routing.py) --
    # During an agent's grace, their visitors are told after this long that the
    # agent is reconnecting (no new chats go to an agent in grace at all).
    agent_reconnect_notice_seconds: float = Field(15.0, ge=0)
    # A queued visitor with no open connection this long leaves the queue
    # (follow-up by email if we have one, else "visitor left"); 0: never.
    queued_visitor_leave_seconds: float = Field(120.0, ge=0)
    # The console repeats its queued-chat alert (sound, notification, title
    # count) this often while nobody accepts.
    queue_alert_repeat_seconds: int = Field(30, ge=5, le=3600)
    # Queued this many minutes with nobody accepting: admins get an escalation
    # alert too; 0: no escalation.
    queue_escalation_minutes: int = Field(0, ge=0, le=1440)
    # Rasa known down (refused connection, failed probe or timed-out turn):
    # turns go straight to a person without waiting for RASA_TIMEOUT; Rasa is
    # probed again this often until it answers.
    rasa_recheck_seconds: float = Field(5.0, gt=0, le=300)
    # When people answer, e.g. "mon-fri 09:00-17:00 Europe/Berlin"; unset:
    # whenever an agent is online.
    support_hours: str | None = None
    # A bot conversation with no message for this long counts as finished;
    # the visitor's next message starts a new one.
    conversation_idle_minutes: int = Field(60, ge=1)
    # The most visitor messages stored in one shared transaction (group commit,
    # chat_server/db/group_commit.py); 1: each in a transaction of its own.
    group_commit_max_batch: int = Field(256, ge=1, le=4096)
    agent_session_days: int = Field(14, ge=1)
    # Where the one-time password of the first admin is written (0600; make
    # run prints the path). Never logged; unset: no admin is created.
    initial_admin_password_file: Path | None = None
    log_level: str = "INFO"
    # "text" (one readable line per record) or "json" (one object per line).
    log_format: Literal["text", "json"] = "text"
    # The same warning repeated within this many seconds is written once, then
    # one line with the count (chat_server/log_repeats.py); 0 writes every one.
    log_repeat_seconds: float = Field(60.0, ge=0)

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

    # -- revenue trust (docs/security.md, "Revenue that can be trusted") ---------
    # Bearer token of POST /api/conversions, the server-to-server conversion
    # API; unset: only ADMIN_TOKEN may call it.
    conversions_api_token: SecretStr | None = None
    # Browser-reported (unsigned) conversion values are kept apart as
    # "unverified", at most this much per event...
    unverified_conversion_max_value: float = Field(1000.0, ge=0, lt=1e9)
    # ...and at most this much per visitor in any 24 hours. Never revenue.
    unverified_conversion_max_value_per_day: float = Field(5000.0, ge=0, lt=1e12)

    # -- campaigns (docs/campaigns.md, "Manners") ---------------------------------
    # Proactive openers per visitor: at most this many per visit...
    campaign_cap_per_visit: int = Field(1, ge=1, le=100)
    # ...and this many in any 7 days (across pages, tabs, nodes and devices).
    campaign_cap_per_week: int = Field(3, ge=1, le=1000)
    # After any dismiss, no opener of any campaign for this long.
    campaign_dismiss_cooldown_minutes: float = Field(30.0, ge=0, le=43200)
    # Create and start a demo campaign on the demo store when none exists (make run).
    demo_campaign: bool = False
    # Seconds between checks for campaigns changed on another node (the engine's cache).
    campaign_refresh_seconds: float = Field(3.0, gt=0, le=3600)

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
    # Per-address limits are sized for 500 people behind one address (an
    # office or school NAT, a misconfigured proxy); per-connection limits are
    # the flood bound. Addresses are counted per IPv4 address or IPv6 /64.
    rate_limit_messages: str = "8/10 seconds;40/minute"  # per connection
    rate_limit_messages_per_ip: str = "2000/minute"
    rate_limit_connections_per_ip: str = "2000/minute"
    rate_limit_new_visitors_per_ip: str = "1000/hour"
    rate_limit_card_clicks: str = "20/minute"  # per connection
    rate_limit_signals: str = "30/10 seconds"  # typing and ratings, per connection
    # Rapport.track() calls, page views and widget open/close, per connection.
    rate_limit_track: str = "30/minute"
    # Rapport.trigger() calls (site-driven campaign triggers) and campaign
    # ready signals, per connection (docs/campaigns.md).
    rate_limit_campaign_triggers: str = "10/10 seconds;30/minute"
    rate_limit_logins: str = "5/minute;20/hour"  # per address and user name
    # Open Engine.IO connections per address (≈36 KiB each: 2,000 ≈ 72 MiB).
    max_connections_per_ip: int = Field(2000, ge=1)
    # A connection that has not asked for a session (or, on /agent,
    # authenticated) by then is closed; it counts against the cap meanwhile.
    identify_timeout_seconds: float = Field(30.0, gt=0)
    # Socket.IO packets of all connections of one address, handled per second
    # on average and at once; more wait (their connections are not read
    # meanwhile) rather than being refused (transport/admission.py, Pacer).
    socket_packets_per_second_per_ip: float = Field(200.0, gt=0)
    socket_packet_burst_per_ip: int = Field(1000, ge=1)

    # -- slow clients and descriptors (chat_server/http/connections.py) -------
    # A connection whose request head is not complete by then is closed.
    http_header_timeout_seconds: float = Field(10.0, gt=0)
    # A request whose body has not fully arrived by then gets 408.
    http_body_timeout_seconds: float = Field(20.0, gt=0)
    # An idle keep-alive connection is closed after this long.
    http_keepalive_seconds: float = Field(30.0, gt=0)
    # Open connections at most (kept below RLIMIT_NOFILE less HTTP_FD_RESERVE
    # and the sockets accepted but not yet seen: chat_server/http/connections.py).
    http_max_connections: int = Field(16384, ge=1)
    # Descriptors kept free for the database, Rasa, logs and health checks.
    http_fd_reserve: int = Field(128, ge=16)
    # Connections still sending their request head, in all and per address;
    # beyond, the oldest of them is closed.
    http_max_handshaking: int = Field(1024, ge=1)
    http_max_handshaking_per_ip: int = Field(64, ge=1)

    # -- agent accounts (docs/security.md, "Console and API") ---------------------
    # Failed sign-ins per address (successful ones are not counted): generous,
    # so a whole office behind one proxy is never locked out by a few typos.
    rate_limit_login_failures_per_ip: str = "300/hour"
    # Failed sign-ins per account name (from any address) before each further
    # one makes the name wait: 1 s, 2 s, 4 s ... up to LOGIN_MAX_DELAY_SECONDS.
    login_free_failures: int = Field(5, ge=1)
    login_max_delay_seconds: float = Field(900.0, gt=0)
    # The server's public address (e.g. https://chat.example.com). When it is
    # https, session cookies are always Secure, whatever the proxy says.
    public_url: str | None = None

    # -- fair scheduling of bot turns (chat_server/services/fair_queue.py) -----
    # Visitor turns sent to Rasa at once, per Rasa server (each RASA_URL
    # entry); the others wait, served address by address in turn, so one
    # sender's backlog waits behind its own messages. 0: no bound and no
    # fair scheduling (every turn goes to Rasa at once; the old behaviour).
    rasa_max_concurrency: int = Field(1, ge=0, le=1000)
    # Turns of one address waiting for Rasa at most; the next one is refused
    # with "rate_limited" (the message is kept; the widget sends it again).
    rasa_queue_per_address: int = Field(50, ge=1)

    # -- email (chat_server/services/email, docs/email.md) ---------------------
    # The relay: smtp://host:port (STARTTLS when the relay offers it),
    # smtp+starttls://host:port (STARTTLS required) or smtps://host:port
    # (TLS from the first byte). Unset: no email is sent (and nothing that
    # needs one, such as a newsletter confirmation, is offered as done).
    smtp_url: str | None = None
    smtp_username: str | None = None
    # The password from the environment, or from a file (a mounted secret);
    # never on a command line.
    smtp_password: SecretStr | None = None
    smtp_password_file: Path | None = None
    smtp_timeout_seconds: float = Field(20.0, gt=0)
    mail_from: str = "rapport@localhost"
    mail_from_name: str = "Rapport"
    # The brand in emails and on the confirmation pages.
    brand_name: str = "Rapport"
    brand_color: str = Field("#1f6feb", pattern=r"^#[0-9a-fA-F]{6}$")
    # A temporary failure (relay down, 4xx) is retried after 30 s, doubling,
    # up to this many attempts over about two days; a 5xx refusal is final.
    email_max_attempts: int = Field(12, ge=1)
    email_retry_base_seconds: float = Field(30.0, gt=0)
    # Confirmation emails (double opt-in): per address per day and per visitor per day.
    consent_mails_per_address_per_day: int = Field(1, ge=1)
    consent_mails_per_visitor_per_day: int = Field(3, ge=1)
    consent_link_days: int = Field(7, ge=1)
    # An agent's reply the visitor has not seen (no open widget) after this
    # long is emailed to them (services/email/replies.py).
    email_reply_after_seconds: float = Field(120.0, ge=0)
    # Replies thread back through reply+<token>@REPLY_DOMAIN: point that
    # domain's MX at the inbound listener. Unset: agent emails carry no
    # reply address and say to answer in the chat.
    reply_domain: str | None = None
    inbound_smtp_port: int | None = Field(None, ge=1, le=65535)
    inbound_smtp_host: str = "127.0.0.1"
    # Larger inbound mail is refused during the SMTP dialogue (552).
    inbound_max_bytes: int = Field(1_048_576, ge=1024)
    # Development only (make run): an SMTP catcher on this port inside the
    # server, and its caught mail at /dev/mail for signed-in admins. Never set
    # in production: unset, the page does not exist.
    dev_mail_catcher_port: int | None = Field(None, ge=1, le=65535)

    @property
    def bot_turn_slots(self) -> int:
        """Turns at Rasa at once over every Rasa server (0: unbounded)."""
        return self.rasa_max_concurrency * len(self.rasa_urls)

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
            "campaign_triggers": self.rate_limit_campaign_triggers,
            "logins": self.rate_limit_logins,
            "login_failures_per_ip": self.rate_limit_login_failures_per_ip,
        }

    @field_validator("secret_key")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("SECRET_KEY must be at least 16 characters")
        return value

    @field_validator("conversions_api_token")
    @classmethod
    def _conversions_token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # It makes revenue: a guessable token would be the $90bn hole again.
        if value is not None and len(value.get_secret_value()) < 24:
            raise ValueError("CONVERSIONS_API_TOKEN must be at least 24 characters")
        return value

    @field_validator(
        "rate_limit_messages",
        "rate_limit_messages_per_ip",
        "rate_limit_connections_per_ip",
        "rate_limit_new_visitors_per_ip",
        "rate_limit_card_clicks",
        "rate_limit_signals",
        "rate_limit_track",
        "rate_limit_campaign_triggers",
        "rate_limit_logins",
        "rate_limit_login_failures_per_ip",
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
            from chat_server.hours import SupportHours

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

    @field_validator("public_url")
    @classmethod
    def _public_url_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/") if value else None

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("smtp://", "smtp+starttls://", "smtps://")):
            raise ValueError("expected an smtp://, smtp+starttls:// or smtps:// URL")
        return value or None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a redis://, rediss:// or unix:// URL")
        return value or None
