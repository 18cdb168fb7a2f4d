"""Application factory: ``create_app(settings) -> web.Application``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from chat_server.db import queries
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.http import (
    agent_api,
    analytics_api,
    api,
    headers,
    openapi,
    views,
    webhooks_api,
)
from chat_server.http.errors import error_middleware
from chat_server.http.keys import CLUSTER_STATUS, ENGINE, RASA, SERVICES, SETTINGS
from chat_server.http.origins import OriginPolicy
from chat_server.identity import VisitorIds
from chat_server.rasa_client import RasaClient
from chat_server.services.agents import AgentService
from chat_server.services.analytics import AnalyticsService
from chat_server.services.container import Services
from chat_server.services.conversations import ConversationService
from chat_server.services.desk import DeskService
from chat_server.services.event_feed import EventFeed
from chat_server.services.handoff import HandoffService
from chat_server.services.hours import SupportHours
from chat_server.services.live_visitors import LiveVisitorsService
from chat_server.services.presence import Presence, Visit
from chat_server.services.privacy import PrivacyService
from chat_server.services.ratelimit import RateLimits
from chat_server.services.retention import RetentionService
from chat_server.services.tracker_sync import TrackerSync
from chat_server.services.tracking import TrackingService
from chat_server.services.webhooks import WebhookService
from chat_server.settings import Settings
from chat_server.transport.agent import AgentNamespace
from chat_server.transport.cluster import ClusterPresence, RedisFanout, node_name
from chat_server.transport.guard import GuardedServer
from chat_server.transport.notifier import SocketNotifier
from chat_server.transport.visitor import VisitorNamespace

log = logging.getLogger(__name__)
SHUTDOWN_CLOSE_SECONDS = 3.0
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
    )
    tracker_sync = TrackerSync(sessions, rasa)
    privacy = PrivacyService(sessions)
    queries.redact_events(settings.redact_pii_in_analytics)
    queries.log_events(settings.interaction_log)
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
        settings.history_page_size,
        settings.conversation_idle_minutes,
        product_categories(settings.catalog_path),
    )
    desk = DeskService(
        sessions, notifier, handoff, tracker_sync, settings.conversation_idle_minutes
    )
    presence = Presence()
    live_visitors = LiveVisitorsService(
        sessions, presence, handoff, desk, notifier, settings.conversation_idle_minutes
    )
    presence.on_change = live_visitors.changed
    return Services(
        conversations=conversations,
        handoff=handoff,
        desk=desk,
        agents=AgentService(
            sessions, settings.agent_session_days, settings.initial_admin_password_file
        ),
        privacy=privacy,
        tracker_sync=tracker_sync,
        limits=RateLimits(settings.rate_limit_rules(), settings.redis_url),
        analytics=AnalyticsService(sessions, notifier.visitors_online),
        tracking=TrackingService(
            sessions,
            settings.conversion_goal_set,
            settings.conversion_currency,
            settings.conversation_idle_minutes,
        ),
        presence=presence,
        live_visitors=live_visitors,
        webhooks=WebhookService(
            sessions, settings.webhook_allow_private, settings.webhook_retry_base_seconds
        ),
    )


async def resync_after_outage(cluster: ClusterPresence, notifier: SocketNotifier) -> None:
    """Redis is back: once the other nodes' presence is fresh again (Redis
    restarted empty; each node rewrites its rooms within a second), tell this
    node's clients to catch up, so what they reload (who is online) is right."""
    await asyncio.sleep(RESYNC_DELAY_SECONDS)
    with contextlib.suppress(RedisError, OSError):
        await cluster.sync_once()
    await notifier.resync_local()


def share_presence(presence: Presence, cluster: ClusterPresence) -> None:
    """Every node's live visitors in every console (several nodes)."""

    def mine() -> list[dict[str, Any]]:
        return [
            {"visitor_id": v.visitor_id, "since": v.since.isoformat(),
             "page_url": v.page_url, "page_title": v.page_title}
            for v in presence.local_visits()
        ]

    def theirs() -> list[Visit]:
        return [
            Visit(v["visitor_id"], datetime.fromisoformat(v["since"]), v.get("page_url"),
                  v.get("page_title"))
            for v in cluster.visits()
        ]

    cluster.local_visits = mine
    cluster.on_visits_changed = presence.remote_changed
    presence.remote = theirs


def create_app(settings: Settings) -> web.Application:
    """Build the chat server; resources are opened on start-up, closed on cleanup."""
    app = web.Application(client_max_size=64 * 1024, middlewares=[error_middleware])
    app[SETTINGS] = settings
    headers.install(app)

    # Several nodes: emits reach every node's sockets through Redis pub/sub.
    fanout = RedisFanout(settings.redis_url) if settings.redis_url else None
    sio = GuardedServer(
        async_mode="aiohttp",
        client_manager=fanout,
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
    sio.register_namespace(
        VisitorNamespace(
            lambda: app[SERVICES],
            settings.message_max_chars,
            identity_secret,
            trusted_proxies=settings.trusted_proxy_set,
            max_connections_per_ip=settings.max_connections_per_ip,
            identify_timeout=settings.identify_timeout_seconds,
        )
    )
    sio.register_namespace(AgentNamespace(lambda: app[SERVICES]))

    async def resources(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        await upgrade_to_head(engine)
        http = aiohttp.ClientSession()
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
        rasa = RasaClient(
            http, settings.rasa_urls, settings.action_server_url, token, settings.rasa_timeout
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

        def committed(types: list[str]) -> None:
            metrics.events_committed(types)
            feed.committed(types)
            if app.get(SERVICES) is not None:
                app[SERVICES].webhooks.wake()

        services = app[SERVICES] = build_services(
            settings, create_sessionmaker(engine, committed), rasa, notifier
        )
        if cluster is not None:
            share_presence(services.presence, cluster)
        await services.agents.ensure_initial_admin()
        background = [asyncio.create_task(services.tracker_sync.run())]
        retention = RetentionService(
            services.privacy.sessions, services.privacy, settings.retention_days,
            settings.retention_check_hours,
        )
        background.append(asyncio.create_task(retention.run()))
        background.append(asyncio.create_task(services.webhooks.run()))
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
        await services.handoff.close()
        feed.close()
        services.presence.close()
        await http.close()
        await engine.dispose()

    async def close_sockets(app: web.Application) -> None:
        # Close every socket at once so clients see the disconnect and reconnect
        # elsewhere instead of talking into a server that is going away.
        if sio.eio.sockets:
            # A socket whose client vanished a moment ago never drains its send
            # queue, and engine.io's close waits for that: bound the wait.
            # ValueError: every socket closed meanwhile (engine.io waits on none).
            with contextlib.suppress(TimeoutError, ValueError):
                await asyncio.wait_for(sio.eio.disconnect(), SHUTDOWN_CLOSE_SECONDS)
        await sio.shutdown()

    app.on_shutdown.append(close_sockets)
    app.cleanup_ctx.append(resources)
    app.add_routes(views.routes)
    app.add_routes(api.routes)
    app.add_routes(agent_api.routes)
    app.add_routes(analytics_api.routes)
    app.add_routes(webhooks_api.routes)
    app.add_routes(openapi.routes)
    app.router.add_static("/static", settings.static_dir)
    if settings.serve_demo:
        app.router.add_static("/web", settings.demo_dir)
    return app
