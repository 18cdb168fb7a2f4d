"""Agent accounts' lifecycle: sign-out, revocation and deactivation, with their effects.

A revoked credential must stop working everywhere at once, not at its next
HTTP request: the storage change (services/agents.py) comes first, then the
live sockets opened with it are closed on every node (the Notifier), and a
deactivated agent's open conversations go back to the queue through the same
path as an agent who went away for good (HandoffService.requeue_agent).
"""

from __future__ import annotations

import logging

from chat_server.services.agents import AgentService
from chat_server.services.handoff import HandoffService
from chat_server.services.notifier import Notifier

log = logging.getLogger(__name__)


class AccountService:
    """What happens when an agent signs out, changes password or is deactivated."""

    def __init__(self, agents: AgentService, handoff: HandoffService, notifier: Notifier) -> None:
        self._agents = agents
        self._handoff = handoff
        self._notifier = notifier

    async def logout(self, agent_id: int, session_token: str) -> None:
        """End one console session and close the sockets it opened."""
        key = await self._agents.logout(session_token)
        await self._notifier.close_agent_sockets(agent_id, [key], include_token=False)

    async def sign_out_everywhere(self, agent_id: int) -> None:
        """Every session and the API token of the agent end; their sockets close."""
        await self._agents.revoke(agent_id)
        await self._notifier.close_agent_sockets(agent_id)
        log.info("agent %s: signed out everywhere", agent_id)

    async def change_password(
        self, agent_id: int, current: str, new: str, keep_session: str | None
    ) -> None:
        """The agent's own change: every other session and the token end."""
        ended = await self._agents.change_password(agent_id, current, new, keep_session)
        await self._notifier.close_agent_sockets(agent_id, ended, include_token=True)
        log.info("agent %s: password changed; %d other session(s) ended", agent_id, len(ended))

    async def reset_password(self, agent_id: int, new: str) -> None:
        """An admin's reset: everything of the agent ends; a one-time password follows."""
        await self._agents.reset_password(agent_id, new)
        await self._notifier.close_agent_sockets(agent_id)
        log.info("agent %s: password reset by an admin; signed out everywhere", agent_id)

    async def deactivate(self, agent_id: int) -> list[int]:
        """No more sign-in, sessions, sockets or token; open chats requeued now.

        Returns the requeued conversation ids. Messages and events stay.
        """
        await self._agents.set_active(agent_id, False)
        await self._notifier.close_agent_sockets(agent_id)
        moved = await self._handoff.requeue_agent(agent_id)
        log.info("agent %s: deactivated; %d conversation(s) requeued", agent_id, len(moved))
        return moved

    async def reactivate(self, agent_id: int) -> None:
        """The agent may sign in again (with the password they had)."""
        await self._agents.set_active(agent_id, True)
        await self._handoff.publish_agent(agent_id)
        log.info("agent %s: reactivated", agent_id)
