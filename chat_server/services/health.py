"""Health of the parts the chat server depends on."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.rasa_client import RasaClient


async def database_status(engine: AsyncEngine) -> dict[str, Any]:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return {"ok": True, "dialect": engine.dialect.name}
    except Exception as exc:  # any failure means "down"
        return {"ok": False, "error": type(exc).__name__}


async def check_health(
    engine: AsyncEngine, rasa: RasaClient, redis: dict[str, Any] | None = None
) -> dict[str, Any]:
    """State of database, Rasa and action server; ``ok`` only when all are up.

    ``redis`` (several nodes) is reported but does not make the node unhealthy:
    without it messages are still stored and answered, only live delivery
    between nodes waits, and a load balancer taking every node out of service
    because of it would be far worse.
    """
    db, rasa_state, actions = await asyncio.gather(
        database_status(engine), rasa.rasa_status(), rasa.action_server_status()
    )
    components = {"database": db, "rasa": rasa_state, "action_server": actions}
    state: dict[str, Any] = {"ok": all(c["ok"] for c in components.values()), **components}
    if redis is not None:
        state["redis"] = redis
        state["degraded"] = not redis["ok"]
    return state
