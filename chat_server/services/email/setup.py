"""The email services of one process, from the settings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.services.email.compose import Brand
from chat_server.services.email.optin import ConsentMail
from chat_server.services.email.outbox import Outbox
from chat_server.services.email.relay import relay_from_url
from chat_server.settings import Settings


def public_base(settings: Settings) -> str:
    """Where links in emails point: PUBLIC_URL, else this server's own address."""
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def brand(settings: Settings) -> Brand:
    return Brand(
        name=settings.brand_name,
        color=settings.brand_color,
        from_address=settings.mail_from,
        from_name=settings.mail_from_name,
    )


def mail_services(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> tuple[Outbox, ConsentMail]:
    relay = (
        relay_from_url(
            settings.smtp_url,
            settings.smtp_username,
            settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            settings.smtp_password_file,
            settings.smtp_timeout_seconds,
        )
        if settings.smtp_url
        else None
    )
    outbox = Outbox(
        sessions,
        relay,
        settings.mail_from,
        settings.email_max_attempts,
        settings.email_retry_base_seconds,
    )
    consent_mail = ConsentMail(
        sessions,
        outbox,
        brand(settings),
        public_base(settings),
        settings.secret_key.get_secret_value(),
        settings.consent_link_days,
        settings.consent_mails_per_address_per_day,
        settings.consent_mails_per_visitor_per_day,
    )
    return outbox, consent_mail
