"""The email services of one process, from the settings, and the SMTP
servers they may run (the inbound listener; the development catcher)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.services.email.catcher import CaughtMail, MailCatcher
from chat_server.services.email.compose import Brand
from chat_server.services.email.inbound import InboundMail
from chat_server.services.email.listener import InboundListener
from chat_server.services.email.optin import ConsentMail
from chat_server.services.email.outbox import Outbox
from chat_server.services.email.relay import relay_from_url
from chat_server.services.email.replies import SWEEP_SECONDS, ReplyMailer, ReplyTokens
from chat_server.services.email.transcript import TranscriptMail
from chat_server.services.handoff import HandoffService
from chat_server.services.notifier import Notifier
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


def reply_tokens(settings: Settings) -> ReplyTokens:
    return ReplyTokens(settings.secret_key.get_secret_value(), settings.reply_domain)


def mail_services(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> tuple[Outbox, ConsentMail]:
    """The outbox and the double opt-in (the conversation service needs the latter)."""
    relay = (
        relay_from_url(
            settings.smtp_url,
            settings.smtp_username,
            (settings.smtp_password.get_secret_value() or None) if settings.smtp_password else None,
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


def conversation_mail(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    mail: Outbox,
    handoff: HandoffService,
    notifier: Notifier,
) -> tuple[ReplyMailer, InboundMail, TranscriptMail]:
    """Agent replies out to visitors who left, their answers back in, and the
    visitor's own transcript on request."""
    replies = ReplyMailer(
        sessions,
        mail,
        brand(settings),
        reply_tokens(settings),
        notifier.visitor_online,
        settings.email_reply_after_seconds,
        public_base(settings),
        # Looked for at least twice within the wait (at most every 15 s).
        sweep_seconds=min(SWEEP_SECONDS, max(0.5, settings.email_reply_after_seconds / 2)),
    )
    inbound = InboundMail(
        sessions, reply_tokens(settings), handoff, notifier, settings.message_max_chars
    )
    return replies, inbound, TranscriptMail(sessions, mail, brand(settings))


@dataclass
class SmtpServers:
    """What start_smtp_servers started: the catcher's mail (development) and a stop."""

    caught: CaughtMail | None
    stop: Callable[[], Awaitable[None]]


async def start_smtp_servers(settings: Settings, inbound: InboundMail) -> SmtpServers:
    """The inbound listener (INBOUND_SMTP_PORT) and the development catcher
    (DEV_MAIL_CATCHER_PORT), each when configured."""
    started: list[MailCatcher | InboundListener] = []
    caught = None
    if settings.inbound_smtp_port:
        listener = InboundListener(
            inbound,
            reply_tokens(settings),
            settings.inbound_smtp_host,
            settings.inbound_smtp_port,
            settings.inbound_max_bytes,
        )
        await asyncio.to_thread(listener.start)
        started.append(listener)
    if settings.dev_mail_catcher_port:
        catcher = MailCatcher(settings.dev_mail_catcher_port)
        await asyncio.to_thread(catcher.start)
        started.append(catcher)
        caught = catcher.mail

    async def stop() -> None:
        for server in started:
            await asyncio.to_thread(server.stop)

    return SmtpServers(caught, stop)
