"""Messages are numbered without holes: migration 0015 numbers existing rows,
and concurrent inserts take the next numbers (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from chat_server.db import conversation_queries, message_queries, visitor_queries
from chat_server.db.models import Conversation, Message, as_utc
from tests.integration.test_migrate_command import run

ROWS = [
    # (id, conversation, visitor, direction)
    (1, 10, "v1", "visitor"),
    (2, 10, "v1", "bot"),
    (3, 11, "v2", "visitor"),
    (4, 10, "v1", "note"),
    (5, 10, "v1", "agent"),
    (6, 11, "v2", "system"),
    (7, 12, "v1", "visitor"),
    (8, 11, "v2", "bot"),
]


async def seed(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        for visitor in ("v1", "v2"):
            await conn.execute(
                text(
                    "INSERT INTO visitors (id, created_at, last_seen_at, profile, "
                    "session_generation) VALUES (:id, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                    "'{}', 0)"
                ),
                {"id": visitor},
            )
        for cid, visitor in ((10, "v1"), (11, "v2"), (12, "v1")):
            await conn.execute(
                text(
                    "INSERT INTO conversations (id, visitor_id, state, created_at, updated_at, "
                    "fallbacks_in_row, unread) VALUES (:id, :v, 'bot', CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, 0, 0)"
                ),
                {"id": cid, "v": visitor},
            )
        for mid, cid, visitor, direction in ROWS:
            await conn.execute(
                text(
                    "INSERT INTO messages (id, conversation_id, visitor_id, direction, text, "
                    "created_at, handled) VALUES (:id, :c, :v, :d, :t, CURRENT_TIMESTAMP, "
                    ":h)"
                ),
                {"id": mid, "c": cid, "v": visitor, "d": direction, "t": f"m{mid}", "h": True},
            )
    await engine.dispose()


async def numbers(database_url: str) -> tuple[dict[int, tuple[Any, Any]], dict[str, int]]:
    """(seq and visitor_seq by message id, the counters by 'c<id>' / 'v<id>')."""
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, seq, visitor_seq FROM messages"))).all()
        conversations = (await conn.execute(text("SELECT id, last_seq FROM conversations"))).all()
        visitors = (await conn.execute(text("SELECT id, last_seq FROM visitors"))).all()
    await engine.dispose()
    counters = {f"c{r[0]}": r[1] for r in conversations} | {f"v{r[0]}": r[1] for r in visitors}
    return {r[0]: (r[1], r[2]) for r in rows}, counters


async def test_the_migration_numbers_existing_messages_in_id_order(database_url: str) -> None:
    setup = await asyncio.to_thread(
        run, "-m", "alembic", "upgrade", "0014", database_url=database_url
    )
    assert setup.returncode == 0, setup.stderr
    await seed(database_url)
    upgraded = await asyncio.to_thread(
        run, "-m", "chat_server.db.migrate", database_url=database_url
    )
    assert upgraded.returncode == 0, upgraded.stderr

    found, counters = await numbers(database_url)
    # seq: per conversation, every direction; visitor_seq: per visitor, visible only.
    assert found == {
        1: (1, 1),
        2: (2, 2),
        3: (1, 1),
        4: (3, None),
        5: (4, 3),
        6: (2, None),
        7: (1, 4),
        8: (3, 2),
    }
    assert counters == {"c10": 4, "c11": 3, "c12": 1, "vv1": 4, "vv2": 2}


async def test_concurrent_inserts_take_consecutive_numbers(database_url: str) -> None:
    setup = await asyncio.to_thread(run, "-m", "chat_server.db.migrate", database_url=database_url)
    assert setup.returncode == 0, setup.stderr
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions.begin() as session:
        await visitor_queries.ensure_visitor(session, "v9")
        conversation = await conversation_queries.open_conversation(session, "v9")
        cid = conversation.id

    async def insert(i: int) -> None:
        for attempt in range(50):  # SQLite: one writer at a time
            try:
                async with sessions.begin() as session:
                    conv = await session.get(Conversation, cid)
                    assert conv is not None
                    await message_queries.add_message(
                        session, conv, "note" if i % 3 == 0 else "agent", f"line {i}"
                    )
                return
            except Exception as exc:  # database is locked (SQLite)
                if "locked" not in str(exc) or attempt == 49:
                    raise
                await asyncio.sleep(0.05)

    await asyncio.gather(*(insert(i) for i in range(30)))
    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(Message).where(Message.conversation_id == cid).order_by(Message.id)
            )
        )
    await engine.dispose()
    # Without holes, and in id order (a higher number is never committed first).
    assert [m.seq for m in rows] == list(range(1, 31))
    visible = [m.visitor_seq for m in rows if m.direction == "agent"]
    assert visible == list(range(1, len(visible) + 1))
    assert all(m.visitor_seq is None for m in rows if m.direction == "note")


async def test_several_messages_at_once_take_consecutive_numbers_in_order(
    database_url: str,
) -> None:
    """A bot turn's replies are stored together (add_messages): one counter
    update per row, the numbers in the order given, the conversation touched."""
    setup = await asyncio.to_thread(run, "-m", "chat_server.db.migrate", database_url=database_url)
    assert setup.returncode == 0, setup.stderr
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions.begin() as session:
        await visitor_queries.ensure_visitor(session, "v8")
        conversation = await conversation_queries.open_conversation(session, "v8")
        await message_queries.add_message(session, conversation, "visitor", "hi")
        await message_queries.add_message(session, conversation, "note", "internal")
        before = conversation.updated_at
    inserts = 0

    def counted(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        nonlocal inserts
        inserts += statement.startswith("INSERT INTO messages")

    event.listen(engine.sync_engine, "before_cursor_execute", counted)
    async with sessions.begin() as session:
        conv = await session.get(Conversation, conversation.id)
        assert conv is not None
        stored = await message_queries.add_messages(
            session,
            conv,
            [
                Message(direction="bot", text=f"reply {i}", payload={"text": f"reply {i}"})
                for i in range(3)
            ],
        )
    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.id)
            )
        )
        conv = await session.get(Conversation, conversation.id)
    await engine.dispose()
    assert [(m.text, m.seq, m.visitor_seq) for m in rows] == [
        ("hi", 1, 1),
        ("internal", 2, None),
        ("reply 0", 3, 2),
        ("reply 1", 4, 3),
        ("reply 2", 5, 4),
    ]
    assert [m.id for m in stored] == [m.id for m in rows[2:]]
    assert inserts == 1  # one statement for the three, on SQLite too
    assert conv is not None and conv.last_seq == 5
    assert as_utc(conv.updated_at) >= as_utc(before)
    assert rows[2].payload == {"text": "reply 0"}
