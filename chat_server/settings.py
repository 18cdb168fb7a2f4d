"""Typed settings, read once at start-up from the environment, then `.env`.

Every setting has an environment variable of the same name in upper case
(e.g. ``database_url`` ← ``DATABASE_URL``). A missing required value or a
value that does not parse stops the server at start-up with a clear message.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Configuration of one chat server process."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'rapport.db'}"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: SecretStr | None = None
    action_server_url: str = "http://127.0.0.1:5055"
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
    # Where the one-time password of the first admin is written (make run
    # prints it); it is always logged too.
    initial_admin_password_file: Path | None = None
    cors_allowed_origins: str = "*"
    log_level: str = "INFO"

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

    @field_validator("secret_key")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("SECRET_KEY must be at least 16 characters")
        return value

    @field_validator("support_hours")
    @classmethod
    def _hours_parse(cls, value: str | None) -> str | None:
        if value:
            from chat_server.services.hours import SupportHours

            SupportHours.parse(value)  # raises ValueError with the reason
        return value or None

    @field_validator("rasa_url", "action_server_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")
