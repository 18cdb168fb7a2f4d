"""How services reach connected clients without knowing the transport.

Services call a ``Notifier``; chat_server/transport/ implements it with
Socket.IO. Visitors are addressed by visitor id (all their tabs), agents all
at once, one by one, or as watchers of a conversation.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol


class Notifier(Protocol):
    """Delivers events to visitors and agents."""

    async def to_visitor(
        self,
        visitor_id: str,
        event: str,
        payload: dict[str, Any],
        extras: dict[str, Any] | None = None,
    ) -> None:
        """Send ``event`` to every connection of the visitor.

        ``extras`` are added to the payload only for Rapport clients (which
        announced the capability); other clients get ``payload`` unchanged.
        A stored message carries its ``seq`` (visitor_seq) in ``extras``: each
        connection then gets it once and in order (transport/delivery.py).
        """
        ...

    async def visitor_message_stored(self, visitor_id: str, item: dict[str, Any]) -> None:
        """The visitor's own message (a `history` item) was stored: their Rapport
        clients get it (other tabs show it, the sender claims its bubble);
        every connection's position moves past it."""
        ...

    async def to_rapport_visitor(
        self, visitor_id: str, event: str, payload: dict[str, Any]
    ) -> None:
        """Send an extension event, only to the visitor's Rapport clients."""
        ...

    async def to_basic_visitor(self, visitor_id: str, event: str, payload: dict[str, Any]) -> None:
        """Send only to the visitor's plain Rasa-protocol clients (e.g. rasa-webchat)."""
        ...

    async def visitor_replaced(self, old_id: str, new_id: str, session_id: str) -> None:
        """Move the visitor's connections to a new identity (after erasure)."""
        ...

    def visitor_online(self, visitor_id: str) -> bool:
        """Whether the visitor has a connection to this server right now."""
        ...

    def visitors_online(self) -> int:
        """How many visitors have a connection to this server right now."""
        ...

    def connections(self) -> dict[str, int]:
        """Open connections to this server, by namespace."""
        ...

    async def close_agent_sockets(
        self, agent_id: int, sessions: Collection[str] | None = None, include_token: bool = True
    ) -> None:
        """Close the agent's live connections on every node, at once.

        ``sessions`` None: every connection of the agent. Otherwise those
        opened with these console sessions (keys from services/agents.py),
        and with ``include_token`` those opened with the agent's API token.
        """
        ...

    async def to_agents(self, event: str, payload: dict[str, Any]) -> None:
        """Send to every connected agent."""
        ...

    async def to_agents_here(self, event: str, payload: dict[str, Any]) -> None:
        """Send to the agents connected to this node only (what this node's
        own view of the cluster changed; every node tells its own)."""
        ...

    async def to_analytics(self, event: str, payload: dict[str, Any]) -> None:
        """Send to every console showing analytics (admins and marketers)."""
        ...

    async def to_agent(self, agent_id: int, event: str, payload: dict[str, Any]) -> None:
        """Send to every connection of one agent."""
        ...

    async def to_conversation(
        self, conversation_id: int, agent_id: int | None, event: str, payload: dict[str, Any]
    ) -> None:
        """Send to the agents watching a conversation and to its assigned agent."""
        ...

    def agents_connected(self) -> bool:
        """Whether an emit to the agents may reach a console (False: skip the work).

        Never False when a console could be connected: the services skip
        building and sending agent events on False.
        """
        ...

    def agent_connected(self, agent_id: int) -> bool:
        """Whether the agent has a console connection to this server right now."""
        ...
