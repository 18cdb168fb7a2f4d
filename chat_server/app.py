"""Application factory: ``create_app(settings) -> web.Application``.

Why one file over 400 lines: it is the composition root, the one place where
every service is built from the settings and wired to the others
(``build_services``), the routes registered and the background tasks started
and stopped in order. It holds no logic of its own; splitting it would only
spread one wiring diagram over several files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import metrics
from chat_server.catalog import product_categories
from chat_server.db import event_queries
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.group_commit import GroupCommit
from chat_server.db.migrate import upgrade_to_head
from chat_server.hours import SupportHours
from chat_server.http import (
    accounts_api,
    agent_api,
    analytics_api,
    api,
    campaign_preview,
    campaign_results_api,
    campaigns_api,
    conversions_api,
    email_views,
    headers,
    openapi,
    segments_api,
    views,
    webhooks_api,
)
from chat_server.http.errors import error_middleware
from chat_server.http.keys import (
    CLUSTER_STATUS,
    ENGINE,
    MAIL_CATCHER,
    PROXY_WARNING,
    RASA,
    SERVICES,
    SETTINGS,
)
from chat_server.http.origins import OriginPolicy
from chat_server.http.proxy_warning import UntrustedProxyWarning, proxy_check
from chat_server.http.slow_bodies import body_deadline
from chat_server.identity import VisitorIds
from chat_server.rasa_client import RasaClient
from chat_server.services.accounts import AccountService
from chat_server.services.agents import AgentService
from chat_server.services.analytics import AnalyticsService
from chat_server.services.analytics.rollups import Rollups
from chat_server.services.campaigns.cache import CampaignCache
from chat_server.services.campaigns.demo import seed_demo_campaign
from chat_server.services.campaigns.engine import CampaignEngine
from chat_server.services.campaigns.manners import Caps
from chat_server.services.campaigns.opener import Openers
from chat_server.services.campaigns.service import CampaignService
from chat_server.services.campaigns.store import MannersStore
from chat_server.services.campaigns.tokens import WatchTokens
from chat_server.services.canned_responses import CannedResponses
from chat_server.services.container import Services
from chat_server.services.conversations import ConversationService
from chat_server.services.departures import QueueDepartures
from chat_server.services.desk import DeskService
from chat_server.services.domain_events import DomainEvents
from chat_server.services.email.setup import (
    conversation_mail,
    mail_services,
    start_smtp_servers,
)
from chat_server.services.event_feed import EventFeed
from chat_server.services.experiments.results import CampaignResults
from chat_server.services.fair_queue import FairScheduler
from chat_server.services.handoff import HandoffService
from chat_server.services.live_signals import LiveSignals
from chat_server.services.live_visitors import LiveVisitorsService
from chat_server.services.login_throttle import LoginThrottle
from chat_server.services.presence import Presence, Visit
from chat_server.services.privacy import PrivacyService
from chat_server.services.ratelimit import RateLimits
from chat_server.services.retention import RetentionService
from chat_server.services.segments.service import SegmentService
from chat_server.services.tracker_sync import TrackerSync
from chat_server.services.tracking import RevenueRules, TrackingService
from chat_server.services.unanswered import UnansweredSweep
from chat_server.services.visitor_history import VisitorHistory
from chat_server.services.webhooks import WebhookService
from chat_server.settings import Settings
from chat_server.transport.admission import Admission, Pacer
from chat_server.transport.agent import AgentNamespace
from chat_server.transport.cluster import ClusterPresence, RedisFanout, node_name
from chat_server.transport.delivery import DeliveringManager
from chat_server.transport.guard import GuardedServer
from chat_server.transport.notifier import SocketNotifier, rapport_room
from chat_server.transport.visitor import VisitorNamespace

log = logging.getLogger(__name__)
SHUTDOWN_CLOSE_SECONDS = 3.0
MAX_BODY_BYTES = 64 * 1024
# After Redis returns: long enough for every node to have rewritten its rooms.
RESYNC_DELAY_SECONDS = 1.5


def build_services(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    rasa: RasaClient,
    notifier: SocketNotifier,
) -> Services:
    """Wire the services of one process together."""
    hours = SupportHours.parse(settings.support_hours) if settings.support_hours else None
    handoff = HandoffService(
        sessions,
        notifier,
        auto_assign=settings.auto_assign,
        support_hours=hours,
        agent_grace_seconds=settings.agent_grace_seconds,
        reconnect_notice_seconds=settings.agent_reconnect_notice_seconds,
    )
    tracker_sync = TrackerSync(sessions, rasa)
    privacy = PrivacyService(sessions)
    event_queries.redact_events(settings.redact_pii_in_analytics)
    event_queries.log_events(settings.interaction_log)
    mail, consent_mail = mail_services(settings, sessions)
    reply_mail, inbound_mail, transcript_mail = conversation_mail(
        settings, sessions, mail, handoff, notifier
    )
    turns = FairScheduler(
        settings.bot_turn_slots,
        settings.rasa_queue_per_address,
        observe_wait=metrics.BOT_TURN_WAIT.observe,
    )
    metrics.BOT_TURNS.labels("waiting").set_function(lambda: turns.waiting)
    metrics.BOT_TURNS.labels("active").set_function(lambda: turns.active)
    # One group commit for the message paths: on SQLite, one writer instead
    # of many waiting on each other for the database's write lock.
    commits = GroupCommit(sessions, settings.group_commit_max_batch)
    conversations = ConversationService(
        sessions,
        rasa,
        VisitorIds(
            settings.secret_key.get_secret_value(),
            max_age_seconds=settings.visitor_session_days * 86_400,
        ),
        notifier,
        privacy,
        handoff,
        tracker_sync,
        settings.conversation_idle_minutes,
        product_categories(settings.catalog_path),
        turns=turns,
        consent_mail=consent_mail,
        commits=commits,
    )
    desk = DeskService(
        sessions, notifier, handoff, tracker_sync, settings.conversation_idle_minutes, commits
    )
    presence = Presence()
    live_visitors = LiveVisitorsService(
        sessions, presence, handoff, desk, notifier, settings.conversation_idle_minutes
    )
    presence.on_change = live_visitors.changed
    agents = AgentService(
        sessions, settings.agent_session_days, settings.initial_admin_password_file
    )
    manners_store = MannersStore(sessions)
    campaign_cache = CampaignCache(sessions, settings.campaign_refresh_seconds)
    segments = SegmentService(sessions)
    return Services(
        conversations=conversations,
        visitor_history=VisitorHistory(sessions, settings.history_page_size),
        handoff=handoff,
        desk=desk,
        signals=LiveSignals(sessions, notifier, manners_store.record_typing),
        canned=CannedResponses(sessions),
        agents=agents,
        accounts=AccountService(agents, handoff, notifier),
        login_throttle=LoginThrottle(
            sessions, settings.login_free_failures, settings.login_max_delay_seconds
        ),
        privacy=privacy,
        tracker_sync=tracker_sync,
        limits=RateLimits(settings.rate_limit_rules(), settings.redis_url),
        analytics=AnalyticsService(sessions, notifier.visitors_online, Rollups(sessions)),
        tracking=TrackingService(
            sessions,
            settings.conversion_goal_set,
            settings.conversion_currency,
            settings.conversation_idle_minutes,
            RevenueRules(
                settings.identity_secret.get_secret_value() if settings.identity_secret else None,
                settings.unverified_conversion_max_value,
                settings.unverified_conversion_max_value_per_day,
            ),
        ),
        presence=presence,
        departures=QueueDepartures(
            sessions, handoff, notifier, settings.queued_visitor_leave_seconds
        ),
        live_visitors=live_visitors,
        webhooks=WebhookService(
            sessions, settings.webhook_allow_private, settings.webhook_retry_base_seconds
        ),
        campaign_results=CampaignResults(sessions),
        campaign_engine=CampaignEngine(
            sessions,
            notifier,
            Openers(rasa, notifier, handoff, tracker_sync),
            WatchTokens(settings.secret_key.get_secret_value()),
            manners_store,
            Caps.from_settings(settings),
            campaign_cache,
            segments.contains,
        ),
        segments=segments,
        campaigns=CampaignService(
            sessions, settings.conversion_goal_set, on_change=campaign_cache.invalidate
        ),
        campaign_manners=manners_store,
        mail=mail,
        consent_mail=consent_mail,
        reply_mail=reply_mail,
        inbound_mail=inbound_mail,
        transcript_mail=transcript_mail,
    )


async def resync_after_outage(cluster: ClusterPresence, notifier: SocketNotifier) -> None:
    """Redis is back: once the other nodes' presence is fresh again (Redis
    restarted empty; each node rewrites its rooms within a second), tell this
    node's clients to catch up, so what they reload (who is online) is right."""
    await asyncio.sleep(RESYNC_DELAY_SECONDS)
    with contextlib.suppress(RedisError, OSError):
        await cluster.sync_once()
    await notifier.resync_local()


def share_presence(presence: Presence, signals: LiveSignals, cluster: ClusterPresence) -> None:
    """Every node's live visitors in every console (several nodes), and the
    online dots kept true when this node's view of the others changes."""

    def mine() -> list[dict[str, Any]]:
        return [
            {
                "visitor_id": v.visitor_id,
                "since": v.since.isoformat(),
                "page_url": v.page_url,
                "page_title": v.page_title,
            }
            for v in presence.local_visits()
        ]

    def theirs() -> list[Visit]:
        return [
            Visit(
                v["visitor_id"],
                datetime.fromisoformat(v["since"]),
                v.get("page_url"),
                v.get("page_title"),
            )
            for v in cluster.visits()
        ]

    def visitor_rooms_changed(rooms: set[str]) -> None:
        signals.others_changed({room.removeprefix(rapport_room("")) for room in rooms})

    cluster.local_visits = mine
    cluster.on_visits_changed = presence.remote_changed
    cluster.on_visitor_rooms_changed = visitor_rooms_changed
    presence.remote = theirs


def create_app(settings: Settings) -> web.Application:
    """Build the chat server; resources are opened on start-up, closed on cleanup."""
    proxy_warning = UntrustedProxyWarning()
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[
            error_middleware,
            proxy_check(proxy_warning, settings.trusted_proxy_set),
            body_deadline(settings.http_body_timeout_seconds, MAX_BODY_BYTES),
        ],
    )
    app[SETTINGS] = settings
    app[PROXY_WARNING] = proxy_warning
    headers.install(app)

    # Several nodes: emits reach every node's sockets through Redis pub/sub.
    fanout = RedisFanout(settings.redis_url) if settings.redis_url else None
    # Either way, a visitor's messages reach each socket once, in order.
    manager = fanout or DeliveringManager()
    sio = GuardedServer(
        async_mode="aiohttp",
        client_manager=manager,
        # Only the server's own pages and ALLOWED_ORIGINS may open a socket.
        # Credentials stay allowed for those: older socket.io clients
        # (rasa-webchat's) poll with credentials and fail without; no cookie
        # is at stake (the console's is SameSite=Strict and same-origin).
        cors_allowed_origins=OriginPolicy(settings.allowed_origins).for_socketio,
        # A visitor message is at most 2,000 characters; refuse huge frames early.
        max_http_buffer_size=64 * 1024,
    )
    sio.attach(app)
    identity_secret = (
        settings.identity_secret.get_secret_value() if settings.identity_secret else None
    )
    visitors = VisitorNamespace(
        lambda: app[SERVICES],
        settings.message_max_chars,
        identity_secret,
        trusted_proxies=settings.trusted_proxy_set,
    )
    sio.register_namespace(visitors)
    sio.admit_with(
        Admission(
            lambda: app[SERVICES].limits,
            settings.trusted_proxy_set,
            settings.max_connections_per_ip,
            settings.identify_timeout_seconds,
            Pacer(settings.socket_packets_per_second_per_ip, settings.socket_packet_burst_per_ip),
        )
    )
    sio.register_namespace(AgentNamespace(lambda: app[SERVICES]))

    async def resources(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        await upgrade_to_head(engine)
        http = aiohttp.ClientSession()
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
        rasa = RasaClient(
            http,
            settings.rasa_urls,
            settings.action_server_url,
            token,
            settings.rasa_timeout,
            settings.rasa_recheck_seconds,
        )
        app[ENGINE] = engine
        app[RASA] = rasa
        notifier = SocketNotifier(sio)
        feed = EventFeed(notifier)
        cluster = None
        if fanout is not None and settings.redis_url:
            cluster = notifier.cluster = ClusterPresence(
                settings.redis_url, node_name(), notifier.local_rooms, notifier.local_connections
            )
            fanout.on_resumed = partial(resync_after_outage, cluster, notifier)
            # Subscribe now, not at the first connection (the library's lazy
            # default): a fresh node is then reported healthy once Redis
            # answers, and hears the other nodes before its first client.
            sio.manager_initialized = True
            fanout.initialize()
            # Read at once: which nodes are up and who is on them.
            app[CLUSTER_STATUS] = lambda: {
                "ok": fanout.subscribed and cluster.reachable,
                "node": cluster.name,
                "subscribed": fanout.subscribed,
                "other_nodes": cluster.other_nodes(),
            }

        def wake_webhooks(types: list[str]) -> None:
            if app.get(SERVICES) is not None:
                app[SERVICES].webhooks.wake()

        events = DomainEvents()
        events.subscribe(metrics.events_committed)
        events.subscribe(feed.committed)
        events.subscribe(wake_webhooks)

        def wake_mail(types: list[str]) -> None:
            # Mail is queued with a consent change (the double opt-in).
            if "consent_changed" in types and app.get(SERVICES) is not None:
                app[SERVICES].mail.wake()

        events.subscribe(wake_mail)
        services = app[SERVICES] = build_services(
            settings, create_sessionmaker(engine, events.committed), rasa, notifier
        )
        manager.deliveries.fetch = services.visitor_history.visible_after
        if cluster is not None:
            share_presence(services.presence, services.signals, cluster)
        await services.agents.ensure_initial_admin()
        if settings.demo_campaign:
            await seed_demo_campaign(services.privacy.sessions)
        background = [asyncio.create_task(services.tracker_sync.run())]
        retention = RetentionService(
            services.privacy.sessions,
            services.privacy,
            settings.retention_days,
            settings.retention_check_hours,
            events_purged=services.analytics.rollups_after_purge,
        )
        background.append(asyncio.create_task(retention.run()))
        background.append(asyncio.create_task(services.analytics.run_rollups()))
        background.append(asyncio.create_task(services.webhooks.run()))
        background.append(asyncio.create_task(services.mail.run()))
        background.append(asyncio.create_task(services.reply_mail.run()))
        smtp_servers = await start_smtp_servers(settings, services.inbound_mail)
        if smtp_servers.caught is not None:
            app[MAIL_CATCHER] = smtp_servers.caught
        unanswered = UnansweredSweep(
            services.privacy.sessions,
            services.conversations.answer_if_unanswered,
            settings.unanswered_sweep_seconds,
            settings.unanswered_min_age_seconds,
            settings.unanswered_max_age_minutes,
        )
        background.append(asyncio.create_task(unanswered.run()))
        if cluster is not None:
            background.append(asyncio.create_task(cluster.run()))
        # Agents marked online before a restart must reconnect within the grace
        # period, or their conversations go back to the queue.
        for agent in await services.agents.online():
            services.handoff.agent_disconnected(agent.id)
        yield
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if cluster is not None:
            await cluster.close()
        await manager.deliveries.close()
        await services.handoff.close()
        await services.departures.close()
        feed.close()
        services.presence.close()
        await rasa.down.close()
        await http.close()
        await smtp_servers.stop()
        await engine.dispose()

    async def close_sockets(app: web.Application) -> None:
        # Close every socket at once so clients see the disconnect and reconnect
        # elsewhere instead of talking into a server that is going away.
        # Engine.IO runs a socket's disconnect handler before it sends the close:
        # while draining, the visitors' handlers skip the database and the
        # agents' consoles (the visitors are reconnecting, not leaving), so
        # 10,000 closes go out in about a second rather than one query each.
        visitors.draining = True
        started, sockets = time.monotonic(), list(sio.eio.sockets.values())
        if sockets:
            # A socket whose client vanished a moment ago never drains its send
            # queue, and engine.io's close waits for that: bound the wait.
            # ValueError: every socket closed meanwhile (engine.io waits on none).
            with contextlib.suppress(TimeoutError, ValueError):
                await asyncio.wait_for(sio.eio.disconnect(), SHUTDOWN_CLOSE_SECONDS)
            # Engine.IO sent each its CLOSE packet but keeps the websocket open
            # until the client hangs up (or 45 s of silence). An end-of-queue
            # marker after the CLOSE makes its writer close the websocket now,
            # so the handlers end and aiohttp's shutdown does not wait them out.
            for socket in sockets:
                socket.queue.put_nowait(None)
            log.info(
                "shutdown: close sent to %d sockets in %.2f s",
                len(sockets),
                time.monotonic() - started,
            )
        await sio.shutdown()
        log.info("shutdown: %d sockets closed in %.2f s", len(sockets), time.monotonic() - started)

    app.on_shutdown.append(close_sockets)
    app.cleanup_ctx.append(resources)
    app.add_routes(views.routes)
    app.add_routes(api.routes)
    app.add_routes(agent_api.routes)
    app.add_routes(accounts_api.routes)
    app.add_routes(analytics_api.routes)
    app.add_routes(campaign_results_api.routes)
    app.add_routes(webhooks_api.routes)
    app.add_routes(email_views.routes)
    app.add_routes(campaigns_api.routes)
    app.add_routes(conversions_api.routes)
    app.add_routes(segments_api.routes)
    app.add_routes(openapi.routes)
    app.add_routes(campaign_preview.routes)
    app.router.add_static("/static", settings.static_dir)
    if settings.serve_demo:
        app.router.add_static("/web", settings.demo_dir)
    return app
