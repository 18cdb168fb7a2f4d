"""Agents: accounts, passwords (argon2id), console sessions and API tokens.

Session cookies and API tokens are random secrets; only their SHA-256 is
stored, so a database dump does not let anyone log in.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import errors
from chat_server.db.models import Agent, AgentSession, as_utc, utcnow

log = logging.getLogger(__name__)

# argon2id, RFC 9106's second recommended profile (64 MiB, 3 passes, 4 lanes).
PRODUCTION_HASHER = PasswordHasher()
_hasher = PRODUCTION_HASHER
# Verified against when the username is unknown, so a login takes as long
# for a missing account as for a wrong password (no username probing by timing).
_DUMMY_HASH = _hasher.hash("rapport-no-such-agent")


class AuthError(errors.Unauthenticated):
    """Wrong credentials, or an expired or revoked session/token."""


class Deactivated(AuthError):
    """The right password, but an admin deactivated the account."""


class LastAdmin(errors.Conflict):
    """That would leave no active admin to run the console."""


class AgentExists(errors.Conflict):
    """That username is taken."""


DEACTIVATED_MESSAGE = "This account is deactivated; ask an admin"


@dataclass(frozen=True)
class Login:
    """A console session: the cookie value and its CSRF token."""

    agent: Agent
    token: str
    csrf_token: str


def _write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to a file that only this user can ever read (0600)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Created with its final mode: never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to an existing file
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_key(token: str) -> str:
    """A short name for a console session (rooms, logs): not enough to use it."""
    return _digest(token)[:24]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# Argon2 is slow on purpose (about 0.1 s of CPU at these parameters): hashing
# and checking run in a worker thread (argon2-cffi releases the GIL), so a
# sign-in never stalls the event loop that carries everyone's chats.
async def _hashed(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def _matches(stored: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_agent(
    session: AsyncSession,
    username: str,
    password: str,
    display_name: str,
    role: str = "agent",
    max_chats: int = 3,
    must_change_password: bool = False,
) -> Agent:
    """Add an agent; raises AgentExists when the username is taken."""
    agent = Agent(
        username=username,
        display_name=display_name,
        password_hash=await _hashed(password),
        role=role,
        max_chats=max_chats,
        must_change_password=must_change_password,
        status="offline",
        notify_mode="always",
        created_at=utcnow(),
    )
    session.add(agent)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AgentExists(username) from exc
    return agent


class AgentService:
    """Logins, sessions, tokens and profile changes of agents."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        session_days: int,
        initial_password_file: Path | None = None,
    ) -> None:
        self._sessions = sessionmaker
        self._session_ttl = timedelta(days=session_days)
        self._initial_password_file = initial_password_file

    async def ensure_initial_admin(self) -> str | None:
        """Create ``admin`` with a one-time password when there is no agent at all.

        The password goes only to the owner-only ``initial_password_file``,
        never to the log (logs are shipped and kept). Without that file no
        admin is created; the log says how to create one. Returns the password.
        """
        if self._initial_password_file is None:
            async with self._sessions() as session:
                if not await session.scalar(select(func.count()).select_from(Agent)):
                    log.warning(
                        "there is no agent yet: create an admin with `python -m chat_server "
                        "create-agent --role admin ...`, or set INITIAL_ADMIN_PASSWORD_FILE "
                        "to have one created with a one-time password written to that file"
                    )
            return None
        async with self._sessions.begin() as session:
            if await session.scalar(select(func.count()).select_from(Agent)):
                return None
            password = secrets.token_urlsafe(12)
            await create_agent(
                session, "admin", password, "Admin", role="admin", must_change_password=True
            )
            # Written before the commit: an admin whose password nobody can
            # read would lock the operator out.
            await asyncio.to_thread(_write_secret, self._initial_password_file, password)
        log.warning(
            "created the first agent: username 'admin'; its one-time password is in %s "
            "(change it at first login in /console)",
            self._initial_password_file,
        )
        return password

    async def create(
        self, username: str, password: str, display_name: str, role: str, max_chats: int
    ) -> Agent:
        async with self._sessions.begin() as session:
            return await create_agent(session, username, password, display_name, role, max_chats)

    async def login(self, username: str, password: str) -> Login:
        """Check the password and open a console session."""
        async with self._sessions.begin() as session:
            agent = await session.scalar(select(Agent).where(Agent.username == username))
            if not await _matches(agent.password_hash if agent else _DUMMY_HASH, password):
                raise AuthError("wrong username or password")
            if agent is None:
                raise AuthError("wrong username or password")
            if not agent.active:
                # Said only to whoever knows the password: no account probing.
                raise Deactivated(DEACTIVATED_MESSAGE)
            if _hasher.check_needs_rehash(agent.password_hash):
                agent.password_hash = await _hashed(password)
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
            now = utcnow()
            session.add(
                AgentSession(
                    token_hash=_digest(token),
                    agent_id=agent.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + self._session_ttl,
                )
            )
            # Expired sessions of this agent are of no use to anyone.
            await session.execute(
                delete(AgentSession).where(
                    AgentSession.agent_id == agent.id, AgentSession.expires_at < now
                )
            )
            return Login(agent, token, csrf)

    async def from_session(self, token: str) -> tuple[Agent, str]:
        """The agent behind a session cookie, and the session's CSRF token."""
        async with self._sessions() as session:
            row = await session.get(AgentSession, _digest(token))
            if row is None or as_utc(row.expires_at) < utcnow():
                raise AuthError("session expired")
            agent = await session.get(Agent, row.agent_id)
            if agent is None or not agent.active:
                raise AuthError("session expired")
            return agent, row.csrf_token

    async def from_api_token(self, token: str) -> Agent:
        async with self._sessions() as session:
            agent = await session.scalar(
                select(Agent).where(Agent.api_token_hash == _digest(token))
            )
            if agent is None or not agent.active:
                raise AuthError("unknown API token")
            return agent

    async def logout(self, token: str) -> str:
        """End one console session; returns its key."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(AgentSession).where(AgentSession.token_hash == _digest(token))
            )
        return session_key(token)

    @staticmethod
    async def _revoke(session: AsyncSession, agent: Agent, keep: str | None) -> list[str]:
        """Delete the agent's sessions but ``keep`` (a cookie), and the API token."""
        query = select(AgentSession.token_hash).where(AgentSession.agent_id == agent.id)
        if keep is not None:
            query = query.where(AgentSession.token_hash != _digest(keep))
        hashes = list(await session.scalars(query))
        if hashes:
            await session.execute(delete(AgentSession).where(AgentSession.token_hash.in_(hashes)))
        agent.api_token_hash = None
        return [h[:24] for h in hashes]

    async def revoke(self, agent_id: int, keep: str | None = None) -> list[str]:
        """Sign the agent out everywhere (but the session ``keep``); revoke the API token.

        Returns the keys of the sessions that ended.
        """
        async with self._sessions.begin() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                raise AuthError("no such agent")
            return await self._revoke(session, agent, keep)

    async def reset_password(self, agent_id: int, new: str) -> list[str]:
        """An admin sets a one-time password: every session and the token end."""
        async with self._sessions.begin() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                raise AuthError("no such agent")
            agent.password_hash = await _hashed(new)
            agent.must_change_password = True
            return await self._revoke(session, agent, None)

    async def set_active(self, agent_id: int, active: bool) -> list[str]:
        """Deactivate (revoking everything) or reactivate an account.

        Raises LastAdmin rather than deactivate the last active admin.
        """
        async with self._sessions.begin() as session:
            agent = await session.get(Agent, agent_id, with_for_update=True)
            if agent is None:
                raise AuthError("no such agent")
            if active:
                agent.deactivated_at = None
                return []
            if agent.role == "admin" and agent.active:
                others = await session.scalar(
                    select(func.count())
                    .select_from(Agent)
                    .where(
                        Agent.role == "admin", Agent.id != agent.id, Agent.deactivated_at.is_(None)
                    )
                )
                if not others:
                    raise LastAdmin("the last active admin cannot be deactivated")
            agent.deactivated_at = agent.deactivated_at or utcnow()
            agent.status = "offline"
            return await self._revoke(session, agent, None)

    async def issue_api_token(self, agent_id: int) -> str:
        """A new API token for the agent (replacing the old one); shown once."""
        token = "rpt_" + secrets.token_urlsafe(32)
        async with self._sessions.begin() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                raise AuthError("no such agent")
            agent.api_token_hash = _digest(token)
        return token

    async def change_password(
        self, agent_id: int, current: str, new: str, keep: str | None = None
    ) -> list[str]:
        """Change the password; every other session (all but ``keep``) and the API
        token end. Returns the keys of the sessions that ended."""
        async with self._sessions.begin() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                raise AuthError("no such agent")
            if not await _matches(agent.password_hash, current):
                raise AuthError("the current password is wrong")
            agent.password_hash = await _hashed(new)
            spent = agent.must_change_password
            agent.must_change_password = False
            ended = await self._revoke(session, agent, keep)
        if spent and self._initial_password_file is not None:
            # The one-time password is no longer valid: don't leave it lying around.
            await asyncio.to_thread(self._initial_password_file.unlink, True)
        return ended

    async def update(
        self, agent_id: int, *, notify_mode: str | None = None, display_name: str | None = None
    ) -> Agent:
        async with self._sessions.begin() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                raise AuthError("no such agent")
            if notify_mode is not None:
                agent.notify_mode = notify_mode
            if display_name is not None:
                agent.display_name = display_name
            return agent

    async def exists(self, agent_id: int) -> None:
        """AuthError unless there is such an agent (active or not)."""
        async with self._sessions() as session:
            if await session.get(Agent, agent_id) is None:
                raise AuthError("no such agent")

    async def online(self) -> list[Agent]:
        async with self._sessions() as session:
            return list(await session.scalars(select(Agent).where(Agent.status == "online")))

    async def get(self, agent_id: int) -> Agent:
        async with self._sessions() as session:
            agent = await session.get(Agent, agent_id)
        if agent is None or not agent.active:
            raise AuthError("no such agent")
        return agent
