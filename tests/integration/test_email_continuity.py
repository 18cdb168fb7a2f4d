"""Conversation continuity by email with real SMTP servers (issue 25 §2).

Out: an agent's reply the visitor has not seen is emailed, with context and
a signed Reply-To, through an SMTP server this test starts. In: mail sent to
the server's own inbound listener (aiosmtpd, on 127.0.0.1) threads back into
the conversation, once, with quotes and signatures cut; forged tokens, other
senders, auto-replies, bounces and oversized mail are refused or ignored.
Every address here is 127.0.0.1; the reply domain is only a header value.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from chat_server.db import message_queries
from chat_server.db.email_models import OutgoingEmail
from chat_server.db.models import Conversation, Followup, Message, Visitor, utcnow
from chat_server.http.keys import SERVICES
from dev.devstack import free_port
from tests.integration.conftest import start_server
from tests.support.smtp import SmtpServer, text_of

REPLY_DOMAIN = "reply.example.test"  # never dialled: a header value only


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    async with SmtpServer(free_port()) as server:
        yield server


async def make_server(
    tmp_path: Path, smtp: SmtpServer, database_url: str | None = None, **overrides: Any
) -> TestServer:
    return await start_server(
        database_url or f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        smtp_url=smtp.url,
        reply_domain=REPLY_DOMAIN,
        email_reply_after_seconds=0,
        **overrides,
    )


async def conversation_with_reply(
    srv: TestServer,
    visitor_id: str,
    email: str | None,
    state: str = "assigned",
    last_seen_ago: timedelta = timedelta(minutes=10),
) -> int:
    """A visitor who asked, left, and an agent's answer they have not seen."""
    async with srv.app[SERVICES].privacy.sessions.begin() as session:
        session.add(
            Visitor(id=visitor_id, email=email, profile={}, last_seen_at=utcnow() - last_seen_ago)
        )
        conversation = Conversation(visitor_id=visitor_id, state=state)
        session.add(conversation)
        await session.flush()
        await message_queries.add_message(
            session, conversation, "visitor", "Does the Trailblazer tent fit two?"
        )
        await message_queries.add_message(session, conversation, "bot", "Let me get a person.")
        await message_queries.add_message(
            session, conversation, "agent", "Yes, it sleeps two with room for packs.", agent_id=1
        )
        return conversation.id


async def rows(srv: TestServer) -> list[OutgoingEmail]:
    async with srv.app[SERVICES].privacy.sessions() as session:
        return list(await session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)))


async def sweep_and_send(srv: TestServer) -> None:
    services = srv.app[SERVICES]
    await services.reply_mail.sweep()
    await services.mail.send_due()


async def test_an_unseen_agent_reply_is_emailed_once_with_context_and_a_reply_address(
    tmp_path: Path, smtp: SmtpServer, database_url: str
) -> None:
    srv = await make_server(tmp_path, smtp, database_url)
    try:
        cid = await conversation_with_reply(srv, "v-tent", "tent@example.com")
        await sweep_and_send(srv)
        await sweep_and_send(srv)  # a second sweep (or node) sends nothing more
        [mail] = await smtp.inbox.wait_for(1)
        assert len(smtp.inbox.messages) == 1
        assert mail["To"] == "tent@example.com"
        body = text_of(mail)
        assert body.startswith("Yes, it sleeps two with room for packs.")
        assert "Earlier in this conversation:" in body
        assert "You: Does the Trailblazer tent fit two?" in body
        reply_to = str(mail["Reply-To"])
        assert reply_to.startswith("reply+") and reply_to.endswith(f"@{REPLY_DOMAIN}")
        assert srv.app[SERVICES].inbound_mail._tokens.conversation(reply_to) == cid
        assert mail["Auto-Submitted"] == "no"
        assert mail["References"] == mail["In-Reply-To"]
        [row] = await rows(srv)
        assert row.kind == "agent_reply" and row.status == "sent"
    finally:
        await srv.close()


async def test_replies_the_visitor_saw_or_cannot_receive_are_not_emailed(
    tmp_path: Path, smtp: SmtpServer, database_url: str
) -> None:
    srv = await make_server(tmp_path, smtp, database_url)
    try:
        # Came back after the reply was written (the widget caught up then).
        await conversation_with_reply(
            srv, "v-back", "back@example.com", last_seen_ago=timedelta(seconds=-5)
        )
        await conversation_with_reply(srv, "v-anon", None)  # left no address
        await sweep_and_send(srv)
        await sweep_and_send(srv)
        assert smtp.inbox.messages == []
        skipped = {r.visitor_id: r.last_error for r in await rows(srv)}
        assert set(skipped) == {"v-back", "v-anon"}
        assert all(r.status == "skipped" for r in await rows(srv))
        assert "came back" in str(skipped["v-back"]) and "no address" in str(skipped["v-anon"])
    finally:
        await srv.close()


def _send(port: int, msg: EmailMessage, sender: str | None) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(msg, from_addr=sender)


async def send(port: int, msg: EmailMessage, sender: str | None = None) -> None:
    """Like another mail server would: from a thread of its own (the listener
    hands the mail to this test's event loop)."""
    await asyncio.to_thread(_send, port, msg, sender)


def answer(reply_to: str, sender: str, text: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = reply_to
    msg["Subject"] = "Re: your conversation"
    msg["Message-ID"] = headers.pop("message_id", "<answer-1@example.com>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return msg


async def stored_email_messages(srv: TestServer, cid: int) -> list[Message]:
    async with srv.app[SERVICES].privacy.sessions() as session:
        found = await session.scalars(
            select(Message).where(Message.conversation_id == cid).order_by(Message.id)
        )
        return [m for m in found if (m.payload or {}).get("channel") == "email"]


async def test_email_answers_thread_back_once_without_quotes_or_signature(
    tmp_path: Path, smtp: SmtpServer, database_url: str
) -> None:
    port = free_port()
    srv = await make_server(tmp_path, smtp, database_url, inbound_smtp_port=port)
    try:
        cid = await conversation_with_reply(srv, "v-in", "In@Example.com", state="resolved")
        reply_to = str(srv.app[SERVICES].inbound_mail._tokens.address(cid))
        text = (
            "Great, I'll order it today.\n\nThanks\n-- \nJane Doe\nSent with love\n\n"
            "On Mon, Dec 7, 2026 at 10:00 Rapport <rapport@localhost> wrote:\n"
            "> Yes, it sleeps two with room for packs.\n"
        )
        msg = answer(reply_to, "Jane <in@example.com>", text)
        await send(port, msg, "in@example.com")
        await send(port, msg, "in@example.com")  # the same mail delivered twice
        [stored] = await stored_email_messages(srv, cid)
        assert stored.direction == "visitor"
        assert stored.text == "Great, I'll order it today.\n\nThanks"
        assert stored.visitor_seq is not None  # the widget shows it on the next visit
        # A resolved conversation: the answer waits in the follow-ups list.
        async with srv.app[SERVICES].privacy.sessions() as session:
            [followup] = list(
                await session.scalars(select(Followup).where(Followup.conversation_id == cid))
            )
        assert followup.email == "in@example.com" and followup.message == stored.text
    finally:
        await srv.close()


async def test_forged_foreign_automatic_and_oversized_mail_is_refused_or_ignored(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    port = free_port()
    srv = await make_server(tmp_path, smtp, inbound_smtp_port=port, inbound_max_bytes=64_000)
    try:
        cid = await conversation_with_reply(srv, "v-bad", "bad@example.com")
        reply_to = str(srv.app[SERVICES].inbound_mail._tokens.address(cid))
        forged = reply_to.replace("reply+", "reply+x")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await send(port, answer(forged, "bad@example.com", "hi", message_id="<f@x>"))
        with pytest.raises(smtplib.SMTPRecipientsRefused):  # not a reply address: no relaying
            await send(port, answer("someone@elsewhere.example", "bad@example.com", "hi"))
        # Accepted by SMTP, then dropped: another sender, auto-replies, a bounce.
        await send(port, answer(reply_to, "mallory@example.com", "hi", message_id="<m@x>"))
        await send(
            port,
            answer(reply_to, "bad@example.com", "I'm away", message_id="<a@x>",
                   Auto_Submitted="auto-replied"),
        )  # fmt: skip
        await send(
            port,
            answer(reply_to, "bad@example.com", "Out of office", message_id="<p@x>",
                   Precedence="auto_reply"),
        )  # fmt: skip
        await send(
            port, answer(reply_to, "mailer-daemon@example.com", "bounce", message_id="<b@x>"), ""
        )
        # 25 MB (here: over the 64 kB limit) is refused during the dialogue.
        with pytest.raises(smtplib.SMTPException):
            await send(
                port, answer(reply_to, "bad@example.com", "x" * 100_000, message_id="<big@x>")
            )
        assert await stored_email_messages(srv, cid) == []
        # The server keeps going: a proper answer still threads back.
        await send(port, answer(reply_to, "bad@example.com", "Still there?", message_id="<ok@x>"))
        [stored] = await stored_email_messages(srv, cid)
        assert stored.text == "Still there?"
    finally:
        await srv.close()


async def test_html_only_mail_becomes_text_and_attachments_are_left_out(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    port = free_port()
    srv = await make_server(tmp_path, smtp, inbound_smtp_port=port)
    try:
        cid = await conversation_with_reply(srv, "v-html", "html@example.com")
        reply_to = str(srv.app[SERVICES].inbound_mail._tokens.address(cid))
        msg = EmailMessage()
        msg["From"] = "html@example.com"
        msg["To"] = reply_to
        msg["Subject"] = "Re"
        msg["Message-ID"] = "<html-1@example.com>"
        msg.set_content(
            "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
            "<body><p>Yes <b>please</b> &amp; thanks</p><div>Second line</div></body></html>",
            subtype="html",
        )
        msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="r.pdf")
        await send(port, msg)
        [stored] = await stored_email_messages(srv, cid)
        assert stored.text is not None
        assert stored.text.startswith("Yes please & thanks\n\nSecond line")
        assert "alert" not in stored.text and "color" not in stored.text
        assert "left out: r.pdf" in stored.text
        async with srv.app[SERVICES].privacy.sessions() as session:
            conversation = await session.get(Conversation, cid)
            assert conversation is not None and conversation.unread == 1  # the agent's badge
    finally:
        await srv.close()


async def test_a_refused_reply_email_is_shown_with_the_relays_answer(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    smtp.inbox.refuse = "550 5.1.1 Mailbox unavailable"
    srv = await make_server(tmp_path, smtp)
    try:
        cid = await conversation_with_reply(srv, "v-550", "gone@example.com")
        await sweep_and_send(srv)
        detail = await srv.app[SERVICES].desk.detail(cid)
        [email] = detail["emails"]
        assert email["kind"] == "agent_reply" and email["to"] == "gone@example.com"
        assert email["status"] == "failed" and "550" in email["last_error"]
    finally:
        await srv.close()
