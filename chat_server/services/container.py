"""The services of one running chat server, built at start-up (never at import)."""

from __future__ import annotations

from dataclasses import dataclass

from chat_server.services.agents import AgentService
from chat_server.services.analytics import AnalyticsService
from chat_server.services.conversations import ConversationService
from chat_server.services.desk import DeskService
from chat_server.services.handoff import HandoffService
from chat_server.services.live_visitors import LiveVisitorsService
from chat_server.services.presence import Presence
from chat_server.services.privacy import PrivacyService
from chat_server.services.ratelimit import RateLimits
from chat_server.services.tracker_sync import TrackerSync
from chat_server.services.tracking import TrackingService
from chat_server.services.webhooks import WebhookService


@dataclass(frozen=True)
class Services:
    """What the transports and HTTP views call."""

    conversations: ConversationService
    handoff: HandoffService
    desk: DeskService
    agents: AgentService
    privacy: PrivacyService
    tracker_sync: TrackerSync
    limits: RateLimits
    tracking: TrackingService
    analytics: AnalyticsService
    presence: Presence
    live_visitors: LiveVisitorsService
    webhooks: WebhookService
