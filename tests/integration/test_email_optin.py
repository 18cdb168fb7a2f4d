"""Double opt-in and the email outbox with a real SMTP server (aiosmtpd).

An in-process chat server whose SMTP_URL points at an SMTP server this test
starts on 127.0.0.1: a newsletter request is pending until the link in the
confirmation email is opened and confirmed; the relay down queues and retries
without sending twice; a 5xx refusal is final; no email bombing.
(The same flow through the real bot: tests/integration/test_consent.py.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from chat_server.db.email_models import OutgoingEmail
from chat_server.db.models import Visitor
from chat_server.http.keys import SERVICES
from chat_server.services import consent
from chat_server.services.email import optin
from chat_server.services.email.outbox import Outbox
from chat_server.verification import user_hash, verify_claim
from dev.devstack import free_port
from tests.integration.conftest import start_server
from tests.support.smtp import SmtpServer, links_in, text_of


async def make_server(
    tmp_path: Path, smtp_port: int, database_url: str | None = None, **overrides: Any
) -> TestServer:
    port = free_port()
    return await start_server(
        database_url or f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        port,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        public_url=f"http://127.0.0.1:{port}",
        email_retry_base_seconds=0.2,
        **overrides,
    )


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    async with SmtpServer(free_port()) as server:
        yield server


async def add_visitor(srv: TestServer, visitor_id: str) -> None:
    async with srv.app[SERVICES].privacy.sessions.begin() as session:
        session.add(Visitor(id=visitor_id, profile={}))


async def ask(srv: TestServer, visitor_id: str, email: str) -> str:
    """What the bot turn does when the visitor asks for the newsletter."""
    services = srv.app[SERVICES]
    async with services.privacy.sessions.begin() as session:
        outcome = await services.consent_mail.request(
            session,
            visitor_id,
            None,
            email,
            source=consent.TYPED,
            agreed_to="Would you like our newsletter?",
            confirmation="Thanks! To confirm, I've sent a link.",
        )
    services.mail.wake()
    return outcome


async def records(srv: TestServer, visitor_id: str) -> list[dict[str, Any]]:
    async with srv.app[SERVICES].privacy.sessions() as session:
        return await consent.history(session, visitor_id)


async def profile(srv: TestServer, visitor_id: str) -> dict[str, Any]:
    async with srv.app[SERVICES].privacy.sessions() as session:
        row = await session.get(Visitor, visitor_id)
        assert row is not None
        return dict(row.profile or {})


async def outbox(srv: TestServer) -> list[OutgoingEmail]:
    async with srv.app[SERVICES].privacy.sessions() as session:
        return list(await session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)))


async def the_only_row(srv: TestServer, done: Callable[[OutgoingEmail], bool]) -> OutgoingEmail:
    """The outbox's one row, once ``done`` holds for it (the worker runs meanwhile)."""

    async def poll() -> OutgoingEmail:
        while True:
            [row] = await outbox(srv)
            if done(row):
                return row
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), 20)


async def test_consent_is_pending_until_the_emailed_link_is_confirmed(
    tmp_path: Path, smtp: SmtpServer, database_url: str
) -> None:
    srv = await make_server(tmp_path, smtp.port, database_url)
    try:
        await add_visitor(srv, "v-jane")
        assert await ask(srv, "v-jane", "jane@example.com") == optin.SENT
        # Pending: recorded, not granted.
        [pending] = await records(srv, "v-jane")
        assert pending["status"] == "pending" and pending["granted"] is False
        assert pending["email"] == "jane@example.com" and pending["mail"] == "sent"
        assert not (await profile(srv, "v-jane")).get("marketing_consent")

        [mail] = await smtp.inbox.wait_for(1)
        assert mail["To"] == "jane@example.com"
        assert "Confirm" in mail["Subject"]
        assert mail.get_body(("html",)) is not None  # an HTML alternative
        [link] = [u for u in links_in(mail) if "/email/confirm" in u]

        async with aiohttp.ClientSession() as http:
            # Opening the link (a mail scanner does that too) changes nothing.
            async with http.get(link) as page:
                assert page.status == 200
                assert "jane@example.com" in await page.text()
                assert page.headers["Referrer-Policy"] == "no-referrer"
            assert len(await records(srv, "v-jane")) == 1
            # Pressing Confirm grants it, with the evidence.
            headers = {"User-Agent": "Jane's browser"}
            async with http.post(link, headers=headers) as done:
                assert done.status == 200
                assert "subscribed" in await done.text()
            async with http.post(link, headers=headers) as again:
                assert again.status == 200  # twice: recorded once
        history = await records(srv, "v-jane")
        assert [r["status"] for r in history] == ["pending", "granted"]
        granted = history[1]
        assert granted["granted"] is True and granted["source"] == consent.DOUBLE_OPT_IN
        assert granted["agreed_to"] == "Would you like our newsletter?"
        assert granted["user_agent"] == "Jane's browser" and granted["from_address"]
        assert granted["requested_at"] == pending["at"]
        assert (await profile(srv, "v-jane"))["marketing_consent"] is True
        # The SMTP server has the mail a moment before the worker records it as sent.
        row = await the_only_row(srv, lambda r: r.status not in ("queued", "sending"))
        assert row.status == "sent" and row.attempts == 1
    finally:
        await srv.close()


async def test_unsubscribe_is_one_click_and_recorded(tmp_path: Path, smtp: SmtpServer) -> None:
    srv = await make_server(tmp_path, smtp.port)
    try:
        await add_visitor(srv, "v-uns")
        await ask(srv, "v-uns", "uns@example.com")
        [mail] = await smtp.inbox.wait_for(1)
        [link] = [u for u in links_in(mail) if "/email/confirm" in u]
        unsubscribe = srv.app[SERVICES].consent_mail.unsubscribe_url("v-uns", "uns@example.com")
        async with aiohttp.ClientSession() as http:
            async with http.post(link) as done:
                assert done.status == 200
            async with http.get(unsubscribe) as page:  # shows a button, changes nothing
                assert "Unsubscribe" in await page.text()
            # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click.
            async with http.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}) as gone:
                assert gone.status == 200
        history = await records(srv, "v-uns")
        assert [r["status"] for r in history] == ["pending", "granted", "withdrawn"]
        assert history[-1]["source"] == consent.UNSUBSCRIBE and history[-1]["granted"] is False
        assert (await profile(srv, "v-uns"))["marketing_consent"] is False
    finally:
        await srv.close()


async def test_forged_damaged_and_expired_links_change_nothing(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = await make_server(tmp_path, smtp.port)
    try:
        await add_visitor(srv, "v-x")
        mail = srv.app[SERVICES].consent_mail
        good = mail.confirm_url("v-x", "x@example.com")
        base = good.split("?")[0]
        import itsdangerous.timed

        real = itsdangerous.timed.TimestampSigner.get_timestamp
        monkeypatch.setattr(
            itsdangerous.timed.TimestampSigner,
            "get_timestamp",
            lambda self: real(self) - 8 * 86400,
        )
        expired = mail.confirm_url("v-x", "x@example.com")
        monkeypatch.undo()
        forged = mail.unsubscribe_url("v-x", "x@example.com").replace("/unsubscribe", "/confirm")
        async with aiohttp.ClientSession() as http:
            for url, status in (
                (good[:-3], 400),  # cut off by a mail program
                (f"{base}?token=" + "a" * 2000, 400),
                (f"{base}", 400),
                (forged, 400),  # an unsubscribe token is not a confirmation
                (expired, 410),
            ):
                for method in (http.get, http.post):
                    async with method(url) as resp:
                        assert resp.status == status, (url, await resp.text())
        assert await records(srv, "v-x") == []
    finally:
        await srv.close()


async def test_no_email_bombing_one_per_address_a_day_and_three_per_visitor(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    srv = await make_server(tmp_path, smtp.port)
    try:
        await add_visitor(srv, "v-bomb")
        await add_visitor(srv, "v-other")
        outcomes = [await ask(srv, "v-bomb", "victim@example.com") for _ in range(3)]
        assert outcomes == [optin.SENT, optin.THROTTLED, optin.THROTTLED]
        # Another visitor typing the same address: still one a day to it.
        assert await ask(srv, "v-other", "VICTIM@example.com") == optin.THROTTLED
        # One visitor, many addresses: at most three confirmations a day.
        more = [await ask(srv, "v-bomb", f"other{i}@example.com") for i in range(4)]
        assert more == [optin.SENT, optin.SENT, optin.THROTTLED, optin.THROTTLED]
        await smtp.inbox.wait_for(3)
        await asyncio.sleep(0.5)
        assert len(smtp.inbox.messages) == 3
        # Every request is on record, pending, with why no mail went.
        mails = [r["mail"] for r in await records(srv, "v-bomb")]
        assert mails.count("sent") == 3 and mails.count("throttled") == 4
    finally:
        await srv.close()


async def test_relay_down_queues_and_retries_and_sends_once(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there yet
    srv = await make_server(tmp_path, port)
    try:
        await add_visitor(srv, "v-down")
        assert await ask(srv, "v-down", "down@example.com") == optin.SENT

        row = await the_only_row(srv, lambda r: r.attempts >= 2)
        assert row.status in ("queued", "sending") and row.last_error
        async with SmtpServer(port) as smtp:
            await smtp.inbox.wait_for(1)
            await asyncio.sleep(1.0)  # more retries would have come by now
            assert len(smtp.inbox.messages) == 1
        row = await the_only_row(srv, lambda r: r.status not in ("queued", "sending"))
        assert row.status == "sent" and row.last_error is None
    finally:
        await srv.close()


async def test_a_permanent_refusal_is_final_and_shown(tmp_path: Path, smtp: SmtpServer) -> None:
    smtp.inbox.refuse = "550 5.1.1 No such mailbox"
    srv = await make_server(tmp_path, smtp.port)
    try:
        await add_visitor(srv, "v-550")
        await ask(srv, "v-550", "nobody@example.com")

        row = await the_only_row(srv, lambda r: r.status == "failed")
        assert row.attempts == 1 and "550" in (row.last_error or "")
        await asyncio.sleep(0.6)  # no retry follows
        [row] = await outbox(srv)
        assert row.attempts == 1 and smtp.inbox.messages == []
    finally:
        await srv.close()


async def test_without_a_relay_nothing_is_queued_and_consent_stays_pending(
    tmp_path: Path,
) -> None:
    srv = await start_server(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await add_visitor(srv, "v-none")
        assert await ask(srv, "v-none", "none@example.com") == optin.NO_EMAIL
        [record] = await records(srv, "v-none")
        assert record["status"] == "pending" and record["mail"] == "no_email"
        assert await outbox(srv) == []
    finally:
        await srv.close()


async def test_confirmation_text_is_plain_first(tmp_path: Path, smtp: SmtpServer) -> None:
    srv = await make_server(tmp_path, smtp.port, brand_name="Trailhead Outfitters")
    try:
        await add_visitor(srv, "v-text")
        await ask(srv, "v-text", "text@example.com")
        [mail] = await smtp.inbox.wait_for(1)
        assert "Trailhead Outfitters" in text_of(mail)
        assert mail.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    finally:
        await srv.close()


async def test_forget_me_erases_the_visitors_mail_even_while_queued(tmp_path: Path) -> None:
    port = free_port()  # no relay listening: the mail stays queued
    srv = await make_server(tmp_path, port)
    try:
        await add_visitor(srv, "v-forget")
        await add_visitor(srv, "v-stays")
        await ask(srv, "v-forget", "forget@example.com")
        await ask(srv, "v-stays", "stays@example.com")
        deleted = await srv.app[SERVICES].privacy.erase("v-forget")
        assert deleted["email_outbox"] == 1
        assert [r.visitor_id for r in await outbox(srv)] == ["v-stays"]
    finally:
        await srv.close()


async def test_a_customer_asking_for_their_site_verified_address_needs_no_mail(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    srv = await make_server(tmp_path, smtp.port)
    try:
        sessions = srv.app[SERVICES].conversations
        secret = srv.settings.identity_secret.get_secret_value()  # type: ignore[attr-defined]
        signed = verify_claim(
            {
                "user_id": "cust-7",
                "user_hash": user_hash(secret, "cust-7", verified_email="ann@example.com"),
                "email": "ann@example.com",
                "email_verified": True,
            },
            secret,
        )
        unsigned = verify_claim(
            {
                "user_id": "cust-8",
                "user_hash": user_hash(secret, "cust-8"),
                "email": "bob@example.com",
            },
            secret,
        )
        ann = (await sessions.start_session(None, signed)).visitor_id
        bob = (await sessions.start_session(None, unsigned)).visitor_id
        assert await ask(srv, ann, "Ann@Example.com") == optin.VERIFIED
        assert await ask(srv, bob, "bob@example.com") == optin.SENT  # the page's word only
        [granted] = await records(srv, ann)
        assert granted["status"] == "granted" and granted["source"] == consent.VERIFIED_BY_SITE
        assert (await profile(srv, ann))["marketing_consent"] is True
        await smtp.inbox.wait_for(1)
        assert [m["To"] for m in smtp.inbox.messages] == ["bob@example.com"]
        # Another address than the verified one is confirmed by mail as usual.
        assert await ask(srv, ann, "ann.other@example.com") == optin.SENT
    finally:
        await srv.close()


async def test_workers_on_two_nodes_send_each_email_once(
    tmp_path: Path, smtp: SmtpServer, database_url: str
) -> None:
    srv = await make_server(tmp_path, smtp.port, database_url)
    try:
        services = srv.app[SERVICES]
        # Two more workers on the same database, as other nodes would run them.
        nodes = [
            Outbox(services.privacy.sessions, services.mail.relay, "rapport@localhost", 3, 0.2)
            for _ in range(2)
        ]
        for i in range(20):
            await add_visitor(srv, f"v-race-{i}")
        async with services.privacy.sessions.begin() as session:
            for i in range(20):
                await services.consent_mail.request(
                    session,
                    f"v-race-{i}",
                    None,
                    f"race{i}@example.com",
                    source=consent.TYPED,
                    agreed_to=None,
                    confirmation=None,
                )
        # The server's own worker wakes on the commit; the others race it.
        await asyncio.gather(*(node.send_due() for node in nodes))
        await smtp.inbox.wait_for(20)
        await asyncio.sleep(0.5)
        recipients = [m["To"] for m in smtp.inbox.messages]
        assert sorted(recipients) == sorted(f"race{i}@example.com" for i in range(20))
        assert all(row.status == "sent" and row.attempts == 1 for row in await outbox(srv))
    finally:
        await srv.close()
