"""Async HTTP client for the Rasa server and the action server.

Rasa is a brain behind HTTP: visitor turns go to the ``rapport`` REST channel
(bot/connectors/rapport_rest.py), which also returns the parsed intent. Any
network error, timeout or 5xx becomes ``RasaUnavailable`` so the caller can
answer the visitor politely instead of failing.

Several Rasa servers (RASA_URL with commas) share the work in turn: one
conversation's turns may go to any of them, because they share the tracker
store and Rasa's Redis lock store processes a conversation's turns one at a
time, in the order they arrived. A server that refuses the connection is
skipped (nothing reached it, so trying the next one cannot answer twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from chat_server import errors, metrics
from chat_server.db.availability import BOT_STORAGE
from chat_server.rasa_down import RasaDown

WEBHOOK_PATH = "/webhooks/rapport/webhook"


class RasaUnavailable(errors.Unavailable):
    """Rasa could not be reached or did not answer in time."""


class BotStorageUnavailable(RasaUnavailable):
    """Rasa is up but its tracker store (the database) is not: nothing was saved,
    the turn is to be run again once the database is back (an outage, not a
    reason to hand the visitor to a person)."""

    database_unavailable = True


class RasaNotFound(RasaUnavailable):
    """Rasa answered 404 (e.g. its HTTP API is not enabled)."""


class IntentNotInDomain(errors.NotFound):
    """``trigger_intent`` named an intent the loaded model does not have."""

    code = "intent_not_in_domain"


# Rasa's answer when its tracker store is unavailable (bot/connectors/rapport_rest.py).
TRACKER_STORE_UNAVAILABLE = "tracker_store_unavailable"
# Rasa 3.6's 404 message for trigger_intent with an intent not in the domain.
UNKNOWN_INTENT = "does not exist in the domain"


@dataclass
class RasaReply:
    """What Rasa said to one visitor message."""

    messages: list[dict[str, Any]]
    intent: str | None = None
    confidence: float | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    # The conversation's slots after this turn (the bot's view of the visitor).
    slots: dict[str, Any] = field(default_factory=dict)
    # Events in the tracker Rasa loaded for this turn (bounded by the session).
    tracker_events: int | None = None


def read_reply(data: Any) -> RasaReply:
    """A turn's answer ``{"messages", "intent"?, "entities"?, "slots"?,
    "tracker_events"?}`` as a ``RasaReply``; anything else is RasaUnavailable."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise RasaUnavailable("unexpected answer from Rasa")
    intent = data.get("intent") or {}
    slots = data.get("slots")
    return RasaReply(
        messages=data["messages"],
        intent=intent.get("name"),
        confidence=intent.get("confidence"),
        entities=data.get("entities") or [],
        slots=slots if isinstance(slots, dict) else {},
        tracker_events=data.get("tracker_events"),
    )


# What Rasa writes when a conversation's session starts (no slots to carry).
SESSION_START_EVENTS = (
    {"event": "action", "name": "action_session_start"},
    {"event": "session_started"},
    {"event": "action", "name": "action_listen"},
)


class RasaClient:
    """Talks to Rasa (REST channel + HTTP API) and probes the action server."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        rasa_urls: Sequence[str],
        action_server_url: str,
        token: str | None,
        timeout: float,
        recheck: float = 5.0,
    ) -> None:
        if not rasa_urls:
            raise ValueError("at least one Rasa URL is needed")
        self._http = http
        self._rasa_urls = list(rasa_urls)
        self._turn = 0
        self._action_url = action_server_url
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._probe_timeout = aiohttp.ClientTimeout(total=2)
        # Known down: turns skip Rasa at once instead of waiting for the timeout.
        self.down = RasaDown(self._answers, recheck)

    @property
    def rasa_known_down(self) -> bool:
        return self.down.known_down

    async def _answers(self) -> bool:
        return bool((await self.rasa_status())["ok"])

    async def send_message(self, sender_id: str, text: str, metadata: dict[str, Any]) -> RasaReply:
        """Send one visitor message; return the bot's replies and the intent."""
        body = {"sender": sender_id, "message": text, "metadata": metadata}
        if self.rasa_known_down:
            raise RasaUnavailable("Rasa is known to be down")
        try:
            with metrics.RASA_LATENCY.time():
                data = await self._post_json(WEBHOOK_PATH, body)
        except BotStorageUnavailable as exc:
            BOT_STORAGE.failed(exc, f"turn of {sender_id}")
            raise
        BOT_STORAGE.succeeded()
        if isinstance(data, list):  # stock REST channel: messages only
            return RasaReply(messages=data)
        return read_reply(data)

    async def trigger_intent(
        self, sender_id: str, intent: str, entities: dict[str, Any]
    ) -> RasaReply:
        """Run ``intent`` for a visitor as if they had said it (a campaign opener).

        Rasa's ``POST /conversations/{id}/trigger_intent`` without
        ``output_channel``: the bot's messages come back in the answer (Rasa's
        collecting channel) and the chat server delivers them like any bot turn.
        Rasa logs the turn as the user message ``EXTERNAL: <intent>`` in its
        tracker only; nothing is stored here. ``entities`` fill the slots
        mapped from them (values may be objects). Raises ``RasaUnavailable``
        as ``send_message`` does, and ``IntentNotInDomain`` when the model has
        no such intent.
        """
        if self.rasa_known_down:
            raise RasaUnavailable("Rasa is known to be down")
        params = {"include_events": "NONE"}
        if self._token:
            params["token"] = self._token
        body = {"name": intent, "entities": entities}
        try:
            with metrics.RASA_LATENCY.time():
                data = await self._post_json(
                    f"/conversations/{sender_id}/trigger_intent", body, params
                )
        except RasaNotFound as exc:
            if UNKNOWN_INTENT in str(exc):
                raise IntentNotInDomain(f"the bot's model has no intent {intent!r}") from exc
            raise
        if not isinstance(data, dict):
            raise RasaUnavailable("unexpected answer from Rasa")
        tracker = data.get("tracker")
        slots = tracker.get("slots") if isinstance(tracker, dict) else None
        return read_reply(
            {
                "messages": data.get("messages"),
                "intent": {"name": intent, "confidence": 1.0},
                "slots": slots,
            }
        )

    async def set_slots(self, sender_id: str, slots: dict[str, Any]) -> dict[str, Any]:
        """Append SlotSet events to a visitor's tracker; return all slots after.

        Used for what the visitor tells us outside a dialogue turn (a verified
        identity, a product-card click), so the bot's slots stay the one
        source of the profile.
        """
        events = [{"event": "slot", "name": k, "value": v} for k, v in slots.items()]
        params = {"include_events": "NONE"}
        if self._token:
            params["token"] = self._token
        if await self._tracker_is_empty(sender_id):
            # Rasa would start the session *after* stamping these events, and
            # the session-scoped tracker store would then drop them (a new
            # customer's name lost on the first turn). Start it first.
            events = [*SESSION_START_EVENTS, *events]
        data = await self._post_json(f"/conversations/{sender_id}/tracker/events", events, params)
        after = data.get("slots") if isinstance(data, dict) else None
        return after if isinstance(after, dict) else {}

    async def _tracker_is_empty(self, sender_id: str) -> bool:
        """Whether Rasa has stored nothing for this sender yet.

        Rasa answers for an unknown sender with a session it started just for
        the answer (and does not store): only session-start events.
        """
        params = {"include_events": "ALL"}
        if self._token:
            params["token"] = self._token
        tracker = await self._get_json(f"/conversations/{sender_id}/tracker", params)
        events = tracker.get("events") if isinstance(tracker, dict) else None
        starting = {(e["event"], e.get("name")) for e in SESSION_START_EVENTS}
        return all(
            (e.get("event"), e.get("name")) in starting for e in events or [] if isinstance(e, dict)
        )

    async def append_events(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        """Append events (what a visitor and an agent said) to a visitor's tracker."""
        params = {"include_events": "NONE"}
        if self._token:
            params["token"] = self._token
        await self._post_json(f"/conversations/{sender_id}/tracker/events", events, params)

    async def parse(self, text: str) -> dict[str, Any]:
        """Rasa's NLU reading of a text (intent and entities), without a dialogue turn."""
        params = {"token": self._token} if self._token else None
        data = await self._post_json("/model/parse", {"text": text}, params)
        if not isinstance(data, dict):
            raise RasaUnavailable("unexpected answer from Rasa")
        return data

    def _servers(self) -> list[str]:
        """The Rasa servers in the order to try for the next request (round robin)."""
        start = self._turn % len(self._rasa_urls)
        self._turn += 1
        return self._rasa_urls[start:] + self._rasa_urls[:start]

    async def _get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET JSON from Rasa; failures are RasaUnavailable (as for _post_json)."""
        return await self._request("GET", path, None, params)

    async def _post_json(self, path: str, body: Any, params: dict[str, str] | None = None) -> Any:
        """POST JSON to Rasa; any network error, timeout, 4xx/5xx or bad JSON is RasaUnavailable."""
        return await self._request("POST", path, body, params)

    async def _request(
        self, method: str, path: str, body: Any, params: dict[str, str] | None
    ) -> Any:
        """Send to the next Rasa server; one that refuses the connection is skipped."""
        error: BaseException = RasaUnavailable("no Rasa server")
        for base in self._servers():
            try:
                async with self._http.request(
                    method, base + path, json=body, params=params, timeout=self._timeout
                ) as resp:
                    metrics.RASA_REQUESTS.labels(base, "answered").inc()
                    self.down.mark_up()
                    if resp.status == 503 and TRACKER_STORE_UNAVAILABLE in await resp.text():
                        raise BotStorageUnavailable("Rasa's tracker store is unavailable")
                    if resp.status == 404:
                        raise RasaNotFound(f"Rasa answered HTTP 404: {await resp.text()}")
                    if resp.status >= 400:
                        raise RasaUnavailable(
                            f"Rasa answered HTTP {resp.status}: {await resp.text()}"
                        )
                    return await resp.json()
            except aiohttp.ClientConnectorError as exc:
                # Nothing was sent: the next server can take the request.
                metrics.RASA_REQUESTS.labels(base, "refused").inc()
                error = exc
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                # It may have been processed: retrying could answer twice.
                if isinstance(exc, TimeoutError):
                    self.down.mark_down("a request timed out")
                raise RasaUnavailable(self._describe(exc)) from exc
        self.down.mark_down("connection refused")
        raise RasaUnavailable(self._describe(error)) from error

    def _describe(self, exc: BaseException) -> str:
        """The error's text without the token: aiohttp's response errors quote the
        full URL, query (``?token=``) included, and this text is logged and
        shown in /healthz."""
        text = str(exc) or type(exc).__name__
        return text.replace(self._token, "<token>") if self._token else text

    async def rasa_status(self) -> dict[str, Any]:
        """Health of Rasa: up with a model loaded (every server, when there are several)."""
        states = [await self._one_rasa_status(url) for url in self._rasa_urls]
        up = sum(1 for s in states if s["ok"])
        if up:
            self.down.mark_up()
        else:
            self.down.mark_down("health check failed")
        if len(states) == 1:
            return states[0]
        # Turns skip a server that is down, so one answering server is enough.
        return {"ok": up > 0, "servers": len(states), "up": up, "each": states}

    async def _one_rasa_status(self, base: str) -> dict[str, Any]:
        params = {"token": self._token} if self._token else None
        try:
            async with self._http.get(
                base + "/status", params=params, timeout=self._probe_timeout
            ) as resp:
                if resp.status != 200:
                    return {"ok": False, "error": f"HTTP {resp.status}"}
                data = await resp.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return {"ok": False, "error": self._describe(exc)}
        model = data.get("model_file") if isinstance(data, dict) else None
        return {"ok": bool(model), "model": model}

    async def action_server_status(self) -> dict[str, Any]:
        """Health of the action server (rasa-sdk's ``GET /health``)."""
        try:
            async with self._http.get(
                self._action_url + "/health", timeout=self._probe_timeout
            ) as resp:
                return (
                    {"ok": resp.status == 200}
                    if resp.status == 200
                    else {
                        "ok": False,
                        "error": f"HTTP {resp.status}",
                    }
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            return {"ok": False, "error": str(exc) or type(exc).__name__}
