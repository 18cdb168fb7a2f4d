"""Email latency (issue 25): how long the outbox takes to hand a queued email to
the relay, how long an unseen agent reply takes to reach the visitor's inbox,
and how long an email answer takes to appear in its conversation.

One in-process chat server on SQLite with a real SMTP server (aiosmtpd) on
127.0.0.1 as its relay, and its own inbound listener on 127.0.0.1.

- **outbox**: ``--mails`` newsletter confirmations requested one after the
  other (distinct visitors and addresses); per mail, the request's commit →
  the relay's DATA received.
- **agent reply**: ``--replies`` conversations, each with an agent message the
  visitor has not seen, ``EMAIL_REPLY_AFTER_SECONDS=0``; message stored → the
  relay has the email (the sweep interval, 0.5 s here, dominates).
- **inbound**: ``--answers`` answers sent by SMTP to the listener (from a
  thread, as another server would); the send's start → the visitor message
  stored.

    .venv/bin/python bench/email_latency.py [--mails 200] [--replies 50] [--answers 100]
"""

from __future__ import annotations

import argparse
import asyncio
import smtplib
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench import report  # noqa: E402
from chat_server.db import message_queries  # noqa: E402
from chat_server.db.models import Conversation, Message, Visitor, utcnow  # noqa: E402
from chat_server.http.keys import SERVICES  # noqa: E402
from chat_server.services import consent  # noqa: E402
from dev.devstack import free_port  # noqa: E402
from tests.integration.conftest import start_server  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402

REPLY_DOMAIN = "reply.example.test"  # a header value only, never dialled


def quantiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "n": len(values),
        "p50_ms": round(cuts[49] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


async def arrivals(smtp: SmtpServer, count: int) -> list[float]:
    """Monotonic arrival time of the first ``count`` mails (polled every 1 ms;
    at most two minutes)."""
    seen: list[float] = []
    deadline = time.monotonic() + 120
    while len(seen) < count and time.monotonic() < deadline:
        while len(seen) < len(smtp.inbox.messages):
            seen.append(time.monotonic())
        await asyncio.sleep(0.001)
    return seen


async def outbox_latency(srv: Any, smtp: SmtpServer, mails: int) -> dict[str, Any]:
    services = srv.app[SERVICES]
    async with services.privacy.sessions.begin() as session:
        session.add_all(Visitor(id=f"bench-o{i}", profile={}) for i in range(mails))
    start_count = len(smtp.inbox.messages)
    committed: list[float] = []
    watcher = asyncio.create_task(arrivals(smtp, start_count + mails))
    for i in range(mails):
        async with services.privacy.sessions.begin() as session:
            await services.consent_mail.request(
                session,
                f"bench-o{i}",
                None,
                f"bench{i}@example.com",
                source=consent.TYPED,
                agreed_to="Newsletter?",
                confirmation="Link sent.",
            )
        committed.append(time.monotonic())
        await asyncio.sleep(0.02)  # one request every ~20 ms: latency, not a queue
    arrived = (await watcher)[start_count:]
    # Mails arrive in queue order (one worker per node).
    return {
        "queued_to_relay": quantiles([a - c for a, c in zip(arrived, committed, strict=True)]),
        "request_every_ms": 20,
    }


async def reply_latency(srv: Any, smtp: SmtpServer, replies: int) -> dict[str, Any]:
    services = srv.app[SERVICES]
    start_count = len(smtp.inbox.messages)
    stored: list[float] = []
    watcher = asyncio.create_task(arrivals(smtp, start_count + replies))
    for i in range(replies):
        async with services.privacy.sessions.begin() as session:
            session.add(Visitor(id=f"bench-r{i}", email=f"r{i}@example.com", profile={},
                                last_seen_at=utcnow()))  # fmt: skip
            conversation = Conversation(visitor_id=f"bench-r{i}", state="assigned")
            session.add(conversation)
            await session.flush()
            await message_queries.add_message(session, conversation, "visitor", "Hello?")
            await message_queries.add_message(
                session, conversation, "agent", f"Answer {i}", agent_id=1
            )
        stored.append(time.monotonic())
        await asyncio.sleep(0.2)
    arrived = sorted((await watcher)[start_count:])
    # Matched by order: each answer is mailed by a later sweep than the one before.
    by_text = {}
    for index, message in enumerate(smtp.inbox.messages[start_count:]):
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        by_text[int(text.split()[1])] = arrived[index]
    return {
        "stored_to_relay": quantiles([by_text[i] - stored[i] for i in range(replies)]),
        "sweep_seconds": 0.5,
    }


def send_answer(port: int, reply_to: str, sender: str, n: int) -> None:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = reply_to
    msg["Subject"] = "Re"
    msg["Message-ID"] = f"<bench-answer-{n}@example.com>"
    msg.set_content(f"Answer number {n}\n\nOn Mon, Shop wrote:\n> old")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(msg)


async def inbound_latency(srv: Any, port: int, answers: int) -> dict[str, Any]:
    services = srv.app[SERVICES]
    tokens = services.inbound_mail._tokens
    async with services.privacy.sessions.begin() as session:
        session.add(Visitor(id="bench-in", email="in@example.com", profile={}))
        conversation = Conversation(visitor_id="bench-in", state="assigned")
        session.add(conversation)
        await session.flush()
        cid = conversation.id
    reply_to = tokens.address(cid)
    times: list[float] = []
    for n in range(answers):
        started = time.monotonic()
        await asyncio.to_thread(send_answer, port, reply_to, "in@example.com", n)
        while True:
            async with services.privacy.sessions() as session:
                count = await session.scalar(
                    select(func.count(Message.id)).where(Message.conversation_id == cid)
                )
            if count == n + 1:
                break
            await asyncio.sleep(0.001)
        times.append(time.monotonic() - started)
    return {"smtp_send_to_stored": quantiles(times)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with SmtpServer(free_port()) as smtp:
            inbound = free_port()
            srv = await start_server(
                f"sqlite+aiosqlite:///{Path(tmp) / 'db.sqlite'}",
                smtp_url=smtp.url,
                reply_domain=REPLY_DOMAIN,
                inbound_smtp_port=inbound,
                email_reply_after_seconds=0,
                consent_mails_per_visitor_per_day=1000,
                consent_mails_per_address_per_day=1000,
            )
            try:
                return {
                    "outbox": await outbox_latency(srv, smtp, args.mails),
                    "agent_reply": await reply_latency(srv, smtp, args.replies),
                    "inbound": await inbound_latency(srv, inbound, args.answers),
                }
            finally:
                await srv.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--replies", type=int, default=50)
    parser.add_argument("--answers", type=int, default=100)
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    for key, value in results.items():
        print(f"{key:12} {value}")
    report.write("email_latency", vars(args), results)


if __name__ == "__main__":
    main()
