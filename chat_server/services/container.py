"""The services of one running chat server, built at start-up (never at import)."""

from __future__ import annotations

from dataclasses import dataclass

from chat_server.services.accounts import AccountService
from chat_server.services.agents import AgentService
from chat_server.services.analytics import AnalyticsService
from chat_server.services.campaigns.engine import CampaignEngine
from chat_server.services.campaigns.service import CampaignService
from chat_server.services.campaigns.store import MannersStore
from chat_server.services.canned_responses import CannedResponses
from chat_server.services.conversations import ConversationService
from chat_server.services.departures import QueueDepartures
from chat_server.services.desk import DeskService
from chat_server.services.email.inbound import InboundMail
from chat_server.services.email.optin import ConsentMail
from chat_server.services.email.outbox import Outbox
from chat_server.services.email.replies import ReplyMailer
from chat_server.services.email.transcript import TranscriptMail
from chat_server.services.experiments.results import CampaignResults
from chat_server.services.handoff import HandoffService
from chat_server.services.live_signals import LiveSignals
from chat_server.services.live_visitors import LiveVisitorsService
from chat_server.services.login_throttle import LoginThrottle
from chat_server.services.presence import Presence
from chat_server.services.privacy import PrivacyService
from chat_server.services.ratelimit import RateLimits
from chat_server.services.segments.service import SegmentService
from chat_server.services.tracker_sync import TrackerSync
from chat_server.services.tracking import TrackingService
from chat_server.services.visitor_history import VisitorHistory
from chat_server.services.webhooks import WebhookService


@dataclass(frozen=True)
class Services:
    """What the transports and HTTP views call."""

    conversations: ConversationService
    visitor_history: VisitorHistory
    handoff: HandoffService
    desk: DeskService
    signals: LiveSignals
    canned: CannedResponses
    agents: AgentService
    accounts: AccountService
    login_throttle: LoginThrottle
    privacy: PrivacyService
    tracker_sync: TrackerSync
    limits: RateLimits
    tracking: TrackingService
    analytics: AnalyticsService
    presence: Presence
    live_visitors: LiveVisitorsService
    webhooks: WebhookService
    campaigns: CampaignService
    # The manners state (caps, cooldowns) of each visitor, compare-and-set.
    campaign_manners: MannersStore
    departures: QueueDepartures
    campaign_engine: CampaignEngine
    campaign_results: CampaignResults
    segments: SegmentService
    # Email: the outbox and its worker; the newsletter's double opt-in.
    mail: Outbox
    consent_mail: ConsentMail
    # Agent replies emailed to visitors who left; their answers threading back.
    reply_mail: ReplyMailer
    inbound_mail: InboundMail
    transcript_mail: TranscriptMail
