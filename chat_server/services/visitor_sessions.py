"""Visitor sessions: signed, expiring session ids, resumed or issued, and the
identity transitions of a verified customer (docs/security.md, "Shared
browsers").

A new anonymous visitor costs nothing (no row) until it does something worth
storing (`ensure_visitor`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import errors
from chat_server.db import conversation_queries, event_queries, message_queries, visitor_queries
from chat_server.db.models import Visitor, as_utc, utcnow
from chat_server.identity import SessionToken, VisitorIds
from chat_server.services.segments import traits
from chat_server.verification import IdentityClaim

# A rotated-out session id keeps working this long (see _resumable).
ROTATION_GRACE = timedelta(minutes=2)
# A session id older than this is re-signed when presented: the expiry slides.
REISSUE_AFTER = timedelta(days=1)


class TooManyVisitors(errors.RateLimited):
    """Too many new visitors from one address: the rate limit said no."""


@dataclass
class VisitorSession:
    """The outcome of a session request."""

    visitor_id: str
    session_id: str
    resumed: bool


class VisitorSessions:
    """Issues and resumes visitor session ids; creates visitor rows when needed."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        visitor_ids: VisitorIds,
        idle: timedelta,
        set_profile_slots: Callable[[str, dict[str, Any]], Awaitable[None]],
    ) -> None:
        self._sessions = sessionmaker
        self._ids = visitor_ids
        self._idle = idle
        self._set_profile_slots = set_profile_slots

    async def start_session(
        self, presented: str | None, claim: IdentityClaim | None = None
    ) -> VisitorSession:
        """Resume the visitor behind a genuine session id, or issue a new one.

        With a verified ``claim`` the session belongs to that customer, who
        inherits nothing from an anonymous visitor presented alongside it: no
        profile field, no consent, no message. Only when the site's backend
        signed ``merge_anonymous`` naming that very visitor does the anonymous
        visitor's current conversation (its transcript, nothing else) move to
        the customer. Without a claim, an identified customer's session id is
        not resumed: after a logout the next person at that browser must not
        see their history.

        A new anonymous visitor gets a signed id and no row: the row is created
        by `ensure_visitor` with the first thing worth storing. Presenting that
        id again resumes the same visitor id. Every confirmation of a stored
        visitor hands out a fresh id (sliding expiry); a new visit or an
        identity change also bumps its generation, retiring earlier copies.
        """
        token = self._ids.verify(presented)
        if token is None and claim is None:
            # A new anonymous visitor: nothing to read or write (no database
            # round trip, so a flood of session requests stays cheap).
            return self.new_visitor()
        carried: int | None = None
        async with self._sessions.begin() as session:
            row = await visitor_queries.get_visitor(session, token.visitor_id) if token else None
            current = self._resumable(row, token)
            if claim is None:
                if current is not None and current.external_id is None:
                    rotate = self._new_visit(current) or bool(token and token.legacy)
                    return self._confirm(current, rotate, token, presented)
                if row is None and token is not None and token.generation == 0 and not token.legacy:
                    return self._pending(token, presented)
                return self.new_visitor()
            # Becoming (or switching to) this customer is an identity change.
            same_customer = current is not None and current.external_id == claim.user_id
            target, existed = await self._customer(session, claim)
            await traits.set_traits(session, target.id, utcnow(), identified=True)
            # The address the site verified and signed (or none any more).
            verified = claim.verified_email
            if (target.profile or {}).get("verified_email") != verified:
                target.profile = {**(target.profile or {}), "verified_email": verified}
            anonymous = current if current is not None and current.external_id is None else None
            if anonymous is not None and claim.merge_visitor_id == anonymous.id:
                carried = await self._carry_over(session, anonymous, target)
            rotate = not same_customer or self._new_visit(target)
            result = self._confirm(target, rotate, token, presented)
            result.resumed = existed or bool(carried)
        await self._sync_claim(result.visitor_id, claim)
        return result

    @staticmethod
    def _resumable(visitor: Visitor | None, token: SessionToken | None) -> Visitor | None:
        """The visitor a presented id may resume: genuine, unexpired, current generation.

        The previous generation still works for ROTATION_GRACE after a
        rotation, so a second tab or a reconnect racing it is not thrown out.
        """
        if token is None or visitor is None:
            return None
        current = visitor.session_generation
        if token.legacy:
            return visitor if current == 0 else None
        if token.generation == current:
            return visitor
        rotated = visitor.session_rotated_at
        if (
            token.generation == current - 1
            and rotated is not None
            and utcnow() - as_utc(rotated) < ROTATION_GRACE
        ):
            return visitor
        return None

    def _new_visit(self, visitor: Visitor) -> bool:
        """Whether the visitor comes back after a break (their id is rotated then)."""
        return utcnow() - as_utc(visitor.last_seen_at) > self._idle

    def _confirm(
        self,
        visitor: Visitor,
        rotate: bool,
        token: SessionToken | None,
        presented: str | None,
    ) -> VisitorSession:
        """The session id to hand back: the presented one while it is current and
        fresh (clients such as rasa-webchat treat a changed id as a new
        session), else a newly signed one."""
        now = utcnow()
        visitor.last_seen_at = now
        if rotate:
            visitor.session_generation += 1
            visitor.session_rotated_at = now
        elif (
            token is not None
            and presented is not None
            and token.visitor_id == visitor.id
            and token.generation == visitor.session_generation
            and now.timestamp() - token.issued_at < REISSUE_AFTER.total_seconds()
        ):
            return VisitorSession(visitor.id, presented, resumed=True)
        return VisitorSession(
            visitor.id, self._ids.sign(visitor.id, visitor.session_generation), resumed=True
        )

    def _pending(self, token: SessionToken, presented: str | None) -> VisitorSession:
        """A visitor with an id but no row yet (nothing stored): the same id again."""
        fresh = time.time() - token.issued_at < REISSUE_AFTER.total_seconds()
        session_id = presented if fresh and presented else self._ids.sign(token.visitor_id, 0)
        return VisitorSession(token.visitor_id, session_id, resumed=False)

    def new_visitor(self) -> VisitorSession:
        """A new anonymous visitor: a signed id, and no row until it is needed."""
        visitor_id = self._ids.new_visitor_id()
        return VisitorSession(visitor_id, self._ids.sign(visitor_id, 0), resumed=False)

    async def ensure_visitor(
        self, visitor_id: str, may_create: Callable[[], Awaitable[bool]] | None = None
    ) -> bool:
        """Store the visitor's row before the first thing worth storing; True if new.

        ``may_create`` is asked only when a row is about to be created (the
        per-address new-visitor limit); False raises TooManyVisitors.
        """
        async with self._sessions() as session:
            if await visitor_queries.get_visitor(session, visitor_id) is not None:
                return False
        if may_create is not None and not await may_create():
            raise TooManyVisitors
        async with self._sessions.begin() as session:
            _, created = await visitor_queries.ensure_visitor(session, visitor_id)
            if created:
                await event_queries.log_event(session, "visitor_created", visitor_id)
        return created

    async def _customer(self, session: AsyncSession, claim: IdentityClaim) -> tuple[Visitor, bool]:
        """The customer's own visitor row, and whether it existed before."""
        known = await visitor_queries.visitor_by_external_id(session, claim.user_id)
        if known is not None:
            return known, True
        visitor_id = self._ids.new_visitor_id()
        visitor = await visitor_queries.create_visitor(
            session, visitor_id, external_id=claim.user_id
        )
        await event_queries.log_event(session, "visitor_created", visitor_id)
        await event_queries.log_event(session, "visitor_identified", visitor_id)
        return visitor, False

    async def _carry_over(
        self, session: AsyncSession, anonymous: Visitor, customer: Visitor
    ) -> int | None:
        """Move the anonymous visitor's current conversation to the customer.

        Only on the backend's signed word (``merge_anonymous``). Consent,
        profile, e-mail, name, earlier conversations and the bot's memory stay
        with the anonymous visitor, whose row is kept: on a shared computer
        that visitor may be someone else.
        """
        conversation = await conversation_queries.latest_conversation(session, anonymous.id)
        if conversation is None or conversation.state == "resolved":
            return None
        moved = await message_queries.carry_conversation(session, conversation, customer.id)
        await event_queries.log_event(
            session,
            "conversation_carried_over",
            customer.id,
            conversation.id,
            {"from": anonymous.id, "messages": moved},
        )
        return moved

    async def _sync_claim(self, visitor_id: str, claim: IdentityClaim) -> None:
        """Tell the bot who this is: the claim's name and e-mail, nothing else."""
        slots: dict[str, Any] = {}
        if claim.name:
            slots["name"] = claim.name
        if claim.email:
            slots["email"] = claim.email
        if slots:
            await self._set_profile_slots(visitor_id, slots)
