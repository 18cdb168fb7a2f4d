"""Prometheus metrics of the chat server, defined in one place (docs/operations.md).

Counters and histograms are updated where things happen; the gauges that
describe the current state (connections, queue, agents online) are set when
``/metrics`` is scraped.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RATE_LIMITED = Counter("rapport_rate_limited_total", "Requests refused by a rate limit", ["limit"])
PACKETS_PACED = Counter(
    "rapport_socket_packets_paced_total",
    "Socket.IO packets held back because their address used up its packet budget",
)
TRACK_REFUSED = Counter("rapport_track_refused_total", "Rapport.track() calls refused", ["code"])
CAMPAIGNS = Counter(
    "rapport_campaign_fires_total",
    "Campaign triggers by outcome (shown, control, undeliverable, or the manners' refusal)",
    ["outcome"],
)
EVENTS_LOGGED = Counter(
    "rapport_events_logged_total", "Interaction events committed to the log", ["type"]
)
MESSAGES = Counter(
    "rapport_messages_total",
    "Visitor messages, bot turns and agent messages stored",
    ["direction"],
)
ERRORS = Counter("rapport_errors_total", "Errors, by kind", ["kind"])
# Several Rasa servers (RASA_URL with commas): how the work is spread, and
# which ones were skipped because they refused the connection.
RASA_REQUESTS = Counter(
    "rapport_rasa_requests_total", "Requests to each Rasa server, by outcome", ["server", "outcome"]
)
RASA_LATENCY = Histogram(
    "rapport_rasa_request_seconds",
    "Time Rasa took to answer one visitor message (REST channel)",
    buckets=(0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10),
)
# Fair scheduling of bot turns (RASA_MAX_CONCURRENCY): how long turns wait for
# a free Rasa slot, and how many wait or are at Rasa now.
BOT_TURN_WAIT = Histogram(
    "rapport_bot_turn_wait_seconds",
    "Time a visitor turn waited for a free Rasa slot (fair scheduling)",
    buckets=(0.001, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
# Group commit (chat_server/db/group_commit.py): how long a caller waited for
# its write to be committed, and how many writes shared each commit.
GROUP_COMMIT_SECONDS = Histogram(
    "rapport_group_commit_seconds",
    "Time from handing a write to group commit until its transaction committed",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
GROUP_COMMIT_BATCH = Histogram(
    "rapport_group_commit_batch_size",
    "Writes committed together in one transaction (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
BOT_TURNS = Gauge("rapport_bot_turns", "Visitor turns waiting for Rasa or at Rasa now", ["state"])
CONNECTIONS = Gauge(
    "rapport_connections", "Open Socket.IO connections, by namespace", ["namespace"]
)
QUEUE_LENGTH = Gauge("rapport_queue_length", "Conversations waiting for a person")
AGENTS_ONLINE = Gauge("rapport_agents_online", "Agents with status online")
EMAILS = Counter(
    "rapport_emails_total",
    "Emails by kind and outcome (queued, sent, retry, failed)",
    ["kind", "outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "rapport_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (delivered, retry, failed)",
    ["outcome"],
)

# Which logged event stands for a stored message of which direction.
# A bot turn that failed (Rasa or the action server down) still answers with an apology.
MESSAGE_EVENTS = {
    "message_received": "visitor",
    "bot_replied": "bot",
    "rasa_unavailable": "bot",
    "action_server_unavailable": "bot",
    "agent_message": "agent",
}


def events_committed(types: list[str]) -> None:
    """Count committed interaction events (called from the commit hook)."""
    for type_ in types:
        EVENTS_LOGGED.labels(type_).inc()
        direction = MESSAGE_EVENTS.get(type_)
        if direction is not None:
            MESSAGES.labels(direction).inc()
