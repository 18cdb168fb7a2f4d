"""REST input channel that also returns what the NLU understood.

The chat server owns every socket and talks to Rasa over HTTP. The stock REST
channel returns only the bot's messages; the chat server also stores the
intent and confidence of each visitor message (for analytics and for agents).
Asking ``/model/parse`` separately would run the NLU pipeline twice per turn,
so this channel parses once and hands the result to the processor through
``UserMessage.parse_data`` (which the processor uses instead of parsing again).

Request:  ``POST /webhooks/rapport/webhook``
          ``{"sender": str, "message": str, "metadata": {...}?}``
Response: ``{"messages": [<same items as the REST channel>],
             "intent": {"name": str, "confidence": float} | null,
             "entities": [...],
             "slots": {<slot name>: <value>, ...},
             "tracker_events": <events in the tracker this turn used>}``

The slots after the turn are how the chat server mirrors the bot's view of the
visitor (name, interests, budget, consent...) into its own visitor profile:
one path, no second copy maintained by hand. To return them without loading
the tracker a second time, the channel runs the same steps as
``MessageProcessor.handle_message`` (Rasa 3.6.21, pinned exactly) and keeps
the tracker it saved.

**Every visitor message gets an answer.** A dialogue policy may predict
``action_listen`` straight after a visitor's message (TED does, e.g. after a
second bare "budget" in a row): the visitor would be left talking to a wall.
When a turn ends with nothing said, this channel runs the bot's fallback
action in the same turn (under the same lock), so the visitor hears what the
bot can do, the chat server counts a fallback (two in a row bring a person)
and the message is logged for improving the training data.

**A database outage loses nothing.** When the tracker store cannot load or
save (storage/availability.py), the turn fails as a whole and the channel
answers ``503 {"error": "tracker_store_unavailable"}`` with nothing saved;
the chat server keeps the message and runs the turn again after recovery.
A turn is idempotent by the chat server's ``metadata.message_id``: if the
tracker already holds that message (the save worked, the answer was lost on
the way back), its stored replies are sent again and nothing is re-run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.actions.action import action_for_name_or_text
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.policies.policy import PolicyPrediction
from rasa.shared.core.constants import (
    ACTION_DEFAULT_FALLBACK_NAME,
    USER_INTENT_BACK,
    USER_INTENT_RESTART,
    USER_INTENT_SESSION_START,
)
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from storage.availability import TrackerStoreUnavailable, strict_failsafe

logger = logging.getLogger(__name__)

# The bot's own fallback (bot/actions/fallback.py); Rasa's built-in one for a
# domain without it.
FALLBACK_ACTION = "action_fallback"
# Rasa's commands ("/restart", ...): saying nothing to them is intended.
SILENT_INTENTS = frozenset({USER_INTENT_RESTART, USER_INTENT_BACK, USER_INTENT_SESSION_START})


def left_unanswered(tracker: Any) -> bool:
    """Whether the latest visitor message got no bot message (control messages count)."""
    if tracker.is_paused():  # a person has the conversation
        return False
    for event in reversed(tracker.events):
        if isinstance(event, BotUttered):
            return False
        if isinstance(event, UserUttered):
            return event.intent_name not in SILENT_INTENTS
    return False


async def answer_with_fallback(processor: Any, tracker: Any, output_channel: Any) -> None:
    """Run the fallback action, then let the policies go on (they predict listening)."""
    domain = processor.domain
    name = (
        FALLBACK_ACTION
        if FALLBACK_ACTION in domain.action_names_or_texts
        else ACTION_DEFAULT_FALLBACK_NAME
    )
    action = action_for_name_or_text(name, domain, processor.action_endpoint)
    prediction = PolicyPrediction.for_action_name(domain, name)
    if await processor._run_action(action, tracker, output_channel, processor.nlg, prediction):
        await processor._run_prediction_loop(output_channel, tracker)


def message_id_of(message: UserMessage) -> Any | None:
    """The chat server's id of this visitor message (metadata.message_id), if any."""
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    return metadata.get("message_id")


def replies_to(tracker: Any, message_id: Any) -> list | None:
    """The bot messages the tracker holds after the user turn with ``message_id``;
    None if it holds no such turn (the usual case: a new message)."""
    if message_id is None:
        return None
    replies: list = []
    for event in reversed(tracker.events):
        if isinstance(event, BotUttered):
            replies.append(event)
        elif isinstance(event, UserUttered):
            metadata = event.metadata if isinstance(event.metadata, dict) else {}
            if metadata.get("message_id") == message_id:
                return list(reversed(replies))
            replies = []
    return None


async def handle_message(agent: Any, message: UserMessage) -> Any:
    """``Agent.handle_message`` + ``MessageProcessor.handle_message``, returning the tracker.

    Raises ``TrackerStoreUnavailable`` (nothing saved) when the database is away."""
    processor = agent.processor
    strict_failsafe(agent.tracker_store)
    async with agent.lock_store.lock(message.sender_id):
        tracker = await processor.fetch_tracker_and_update_session(
            message.sender_id, message.output_channel, message.metadata
        )
        earlier = replies_to(tracker, message_id_of(message))
        if earlier is not None:
            logger.info(
                "message %s was already handled: sending its replies again", message_id_of(message)
            )
            for event in earlier:
                await message.output_channel.send_response(
                    message.sender_id, {"text": event.text, **(event.data or {})}
                )
            return tracker
        await processor._handle_message_with_tracker(message, tracker)
        tracker = await processor.run_action_extract_slots(message.output_channel, tracker)
        await processor._run_prediction_loop(message.output_channel, tracker)
        if left_unanswered(tracker):
            logger.info(
                "the policies predicted no reply to %r: answering with the fallback", message.text
            )
            await answer_with_fallback(processor, tracker, message.output_channel)
        await processor.run_anonymization_pipeline(tracker)
        await processor.save_tracker(tracker)
    return tracker


class RapportRestInput(RestInput):
    """REST channel answering with the bot's messages plus the parsed intent."""

    @classmethod
    def name(cls) -> str:
        return "rapport"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # ``on_new_message`` (the agent's handler) is not used: ``handle_message``
        # below does the same work and keeps the tracker for the response.
        webhook = Blueprint("rapport_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else None
            if body is None:
                return response.json({"error": "expected a JSON object"}, status=400)
            sender_id = body.get("sender")
            text = body.get("message")
            metadata: dict[str, Any] | None = body.get("metadata")
            if not isinstance(sender_id, str) or not sender_id:
                return response.json({"error": "sender must be a string"}, status=400)
            if not isinstance(text, str) or not text:
                return response.json({"error": "message must be a string"}, status=400)
            if metadata is not None and not isinstance(metadata, dict):
                return response.json({"error": "metadata must be an object"}, status=400)

            agent = request.app.ctx.agent
            if agent is None or not agent.is_ready():
                return response.json({"error": "no model loaded"}, status=503)

            parse_data = await agent.parse_message(text)
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                sender_id,
                parse_data=parse_data,
                input_channel=self.name(),
                metadata=metadata,
            )
            try:
                tracker = await handle_message(agent, message)
            except TrackerStoreUnavailable:
                # Logged once per outage by the store; the chat server retries.
                return response.json({"error": "tracker_store_unavailable"}, status=503)
            except Exception:
                logger.exception("rapport channel failed to handle a message")
                return response.json({"error": "message handling failed"}, status=500)

            intent = parse_data.get("intent") or {}
            return response.json(
                {
                    "messages": collector.messages,
                    "intent": {
                        "name": intent.get("name"),
                        "confidence": intent.get("confidence"),
                    }
                    if intent.get("name")
                    else None,
                    "entities": [
                        {k: e.get(k) for k in ("entity", "value", "start", "end")}
                        for e in parse_data.get("entities") or []
                    ],
                    "slots": tracker.current_slot_values(),
                    # Size of the tracker this turn loaded and worked on: the
                    # chat server logs it to show the per-turn cost stays bounded.
                    "tracker_events": len(tracker.events),
                }
            )

        return webhook
