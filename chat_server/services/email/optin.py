"""Double opt-in for marketing consent (issue 25 §3, docs/email.md).

Consent given in chat is recorded as *pending* and a confirmation email with a
signed, expiring link goes to the address; consent is *granted* only when that
link is opened and its page confirmed, with the evidence kept (when, from
which address and browser, the text agreed to). Every marketing email carries
a one-click unsubscribe link; withdrawing is recorded the same way.

No email bombing: at most ``CONSENT_MAILS_PER_ADDRESS_PER_DAY`` confirmations
to one address and ``CONSENT_MAILS_PER_VISITOR_PER_DAY`` for one visitor,
whatever is typed; beyond, the request stays pending and no mail is sent.

The links carry ``{visitor id, address}`` signed with ``SECRET_KEY`` (salted
per purpose): a confirmation link expires after ``CONSENT_LINK_DAYS``; an
unsubscribe link never does (it must work in an old newsletter).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import event_queries
from chat_server.db.models import InteractionEvent, Visitor, utcnow
from chat_server.services import consent
from chat_server.services.email import outbox
from chat_server.services.email.compose import Brand, Link, build
from chat_server.services.email.outbox import Outbox

log = logging.getLogger(__name__)

KIND = "consent_confirm"
CONFIRM_SALT = "rapport.consent.confirm"
UNSUBSCRIBE_SALT = "rapport.consent.unsubscribe"

# outcomes of request()
SENT = "sent"
THROTTLED = "throttled"  # a confirmation went to that address (or visitor) recently
NO_EMAIL = "no_email"  # no relay configured (SMTP_URL unset)
VERIFIED = "verified"  # the site verified and signed this address: granted at once


class LinkInvalid(Exception):
    """The link is forged, damaged, or for a visitor that no longer exists."""


class LinkExpired(Exception):
    """The confirmation link is older than CONSENT_LINK_DAYS."""


@dataclass(frozen=True)
class Evidence:
    """Where a confirmation or withdrawal came from."""

    address: str | None
    user_agent: str | None


class ConsentMail:
    """Pending consent, confirmation mail, confirmation and withdrawal."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        mail: Outbox,
        brand: Brand,
        base_url: str,
        secret: str,
        link_days: int,
        per_address_per_day: int,
        per_visitor_per_day: int,
    ) -> None:
        self._sessions = sessionmaker
        self._mail = mail
        self._brand = brand
        self._base = base_url.rstrip("/")
        self._confirm = URLSafeTimedSerializer(secret, salt=CONFIRM_SALT)
        self._unsubscribe = URLSafeTimedSerializer(secret, salt=UNSUBSCRIBE_SALT)
        self._link_seconds = link_days * 86400
        self._per_address = per_address_per_day
        self._per_visitor = per_visitor_per_day

    # -- links -----------------------------------------------------------------

    def confirm_url(self, visitor_id: str, email: str) -> str:
        token = self._confirm.dumps({"v": visitor_id, "e": email})
        return f"{self._base}/email/confirm?token={token}"

    def unsubscribe_url(self, visitor_id: str, email: str) -> str:
        token = self._unsubscribe.dumps({"v": visitor_id, "e": email})
        return f"{self._base}/email/unsubscribe?token={token}"

    def read_confirm(self, token: str) -> tuple[str, str]:
        return _read(self._confirm, token, self._link_seconds)

    def read_unsubscribe(self, token: str) -> tuple[str, str]:
        return _read(self._unsubscribe, token, None)

    # -- asking ----------------------------------------------------------------

    async def request(
        self,
        session: AsyncSession,
        visitor_id: str,
        conversation_id: int | None,
        email: str,
        *,
        source: str,
        agreed_to: str | None,
        confirmation: str | None,
    ) -> str:
        """Record the request as pending and queue the confirmation email (in
        the caller's transaction); returns SENT, THROTTLED or NO_EMAIL.

        A signed-in customer asking for the address their site verified and
        signed (``email_verified`` in the identity claim) needs no mail: the
        consent is granted at once (VERIFIED), with that as the evidence."""
        visitor = await session.get(Visitor, visitor_id)
        verified = (visitor.profile or {}).get("verified_email") if visitor else None
        if visitor is not None and verified and verified == email.lower():
            await self._grant(
                session,
                visitor,
                conversation_id,
                email,
                source=consent.VERIFIED_BY_SITE,
                agreed_to=agreed_to,
                confirmation=confirmation,
                evidence={"requested_via": source, "verified_by": "site (signed identity)"},
            )
            return VERIFIED
        if not self._mail.enabled:
            outcome = NO_EMAIL
        elif (
            await outbox.sent_since(session, KIND, to=email) >= self._per_address
            or await outbox.sent_since(session, KIND, visitor_id=visitor_id) >= self._per_visitor
        ):
            outcome = THROTTLED
        else:
            outcome = SENT
        await record_pending(
            session, visitor_id, conversation_id, email, outcome, source, agreed_to, confirmation
        )
        if outcome == SENT:
            await outbox.enqueue(
                session,
                KIND,
                self._confirmation_mail(visitor_id, email, agreed_to),
                visitor_id=visitor_id,
                conversation_id=conversation_id,
            )
            # Sent as soon as the caller's transaction commits (the consent_changed
            # event wakes the outbox: app.py), not at the next poll.
        else:
            log.info("no confirmation email for visitor %s: %s", visitor_id, outcome)
        return outcome

    def _confirmation_mail(self, visitor_id: str, email: str, agreed_to: str | None) -> Any:
        name = self._brand.name
        paragraphs = [
            f"Someone, hopefully you, asked to receive the {name} newsletter at this address.",
            "To confirm, open the link below and press Confirm. Until then you will "
            "get nothing else from us; if it was not you, ignore this email.",
        ]
        if agreed_to:
            paragraphs.append(f"What was asked in the chat: “{agreed_to}”")
        return build(
            self._brand,
            email,
            f"Confirm your {name} newsletter subscription",
            paragraphs,
            button=Link("Confirm my subscription", self.confirm_url(visitor_id, email)),
            footer=f"The link works for {self._link_seconds // 86400} days.",
        )

    # -- answering the links ---------------------------------------------------

    async def confirm(self, token: str, evidence: Evidence) -> str:
        """Grant consent for the address in the link; returns the address.
        Confirming twice records it once."""
        visitor_id, email = self.read_confirm(token)
        async with self._sessions.begin() as session:
            visitor = await session.get(Visitor, visitor_id, with_for_update=True)
            if visitor is None:
                raise LinkInvalid("this visitor no longer exists")
            latest = await latest_record(session, visitor_id)
            if latest.get("status") == consent.GRANTED and latest.get("email") == email:
                return email
            pending = await latest_record(session, visitor_id, email=email, status=consent.PENDING)
            await self._grant(
                session,
                visitor,
                latest.get("conversation_id"),
                email,
                source=consent.DOUBLE_OPT_IN,
                agreed_to=pending.get("agreed_to"),
                confirmation=f"Confirmed by opening the link sent to {email}.",
                evidence={
                    "requested_at": pending.get("at"),
                    "requested_via": pending.get("source"),
                    "from_address": evidence.address,
                    "user_agent": (evidence.user_agent or "")[:300] or None,
                },
            )
        return email

    async def _grant(
        self,
        session: AsyncSession,
        visitor: Visitor,
        conversation_id: int | None,
        email: str,
        *,
        source: str,
        agreed_to: str | None,
        confirmation: str | None,
        evidence: dict[str, Any],
    ) -> None:
        now = utcnow().isoformat(timespec="seconds")
        await consent.record(
            session,
            visitor.id,
            conversation_id,
            topic=consent.MARKETING,
            granted=True,
            source=source,
            agreed_to=agreed_to,
            confirmation=confirmation,
            at=now,
            details={"status": consent.GRANTED, "email": email, **evidence},
        )
        visitor.profile = {**(visitor.profile or {}), "marketing_consent": True, "consent_at": now}
        visitor.email = visitor.email or email
        await event_queries.log_event(session, "newsletter_subscribed", visitor.id, None)

    async def unsubscribe(self, token: str, evidence: Evidence) -> str:
        """Withdraw consent for the address in the link; returns the address."""
        visitor_id, email = self.read_unsubscribe(token)
        async with self._sessions.begin() as session:
            visitor = await session.get(Visitor, visitor_id, with_for_update=True)
            if visitor is None:
                return email  # erased: nothing is sent to them any more anyway
            latest = await latest_record(session, visitor_id)
            if latest.get("status") == consent.WITHDRAWN:
                return email
            await consent.record(
                session,
                visitor_id,
                None,
                topic=consent.MARKETING,
                granted=False,
                source=consent.UNSUBSCRIBE,
                agreed_to=None,
                confirmation=f"Unsubscribed {email} with the link in an email.",
                details={
                    "status": consent.WITHDRAWN,
                    "email": email,
                    "from_address": evidence.address,
                    "user_agent": (evidence.user_agent or "")[:300] or None,
                },
            )
            visitor.profile = {**(visitor.profile or {}), "marketing_consent": False}
        return email


async def record_pending(
    session: AsyncSession,
    visitor_id: str,
    conversation_id: int | None,
    email: str,
    mail: str,
    source: str,
    agreed_to: str | None,
    confirmation: str | None,
) -> None:
    """A newsletter request on record as pending, with whether a mail went out."""
    await consent.record(
        session,
        visitor_id,
        conversation_id,
        topic=consent.MARKETING,
        granted=False,
        source=source,
        agreed_to=agreed_to,
        confirmation=confirmation,
        details={"status": consent.PENDING, "email": email, "mail": mail},
    )


def _read(serializer: URLSafeTimedSerializer, token: str, max_age: int | None) -> tuple[str, str]:
    try:
        data = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkExpired("this link has expired") from exc
    except BadSignature as exc:
        raise LinkInvalid("this link is not valid") from exc
    if not isinstance(data, dict) or not isinstance(data.get("v"), str):
        raise LinkInvalid("this link is not valid")
    if not isinstance(data.get("e"), str):
        raise LinkInvalid("this link is not valid")
    return data["v"], data["e"]


async def latest_record(
    session: AsyncSession, visitor_id: str, *, email: str | None = None, status: str | None = None
) -> dict[str, Any]:
    """The newest marketing consent record of the visitor (matching ``email``
    and ``status`` when given), with its conversation; {} when none."""
    rows = await session.execute(
        select(InteractionEvent.data, InteractionEvent.conversation_id)
        .where(
            InteractionEvent.visitor_id == visitor_id,
            InteractionEvent.type == consent.EVENT,
        )
        .order_by(InteractionEvent.id.desc())
        .limit(200)
    )
    for data, conversation_id in rows:
        record = dict(data or {})
        if record.get("topic") != consent.MARKETING:
            continue
        if email is not None and record.get("email") != email:
            continue
        if status is not None and record.get("status") != status:
            continue
        return {**record, "conversation_id": conversation_id}
    return {}
