"""Application factory: ``create_app(settings) -> web.Application``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import socketio
from aiohttp import web

from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.http import api, views
from chat_server.http.keys import CONVERSATIONS, ENGINE, PRIVACY, RASA, SETTINGS
from chat_server.identity import VisitorIds
from chat_server.rasa_client import RasaClient
from chat_server.services.conversations import ConversationService
from chat_server.services.privacy import PrivacyService
from chat_server.settings import Settings
from chat_server.transport.visitor import SocketNotifier, VisitorNamespace

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    """Build the chat server; resources are opened on start-up, closed on cleanup."""
    app = web.Application(client_max_size=64 * 1024)
    app[SETTINGS] = settings

    origins = settings.cors_allowed_origins
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins="*" if origins == "*" else [o.strip() for o in origins.split(",")],
        # A visitor message is at most 2,000 characters; refuse huge frames early.
        max_http_buffer_size=64 * 1024,
    )
    sio.attach(app)
    identity_secret = settings.identity_secret.get_secret_value() if settings.identity_secret else None
    sio.register_namespace(
        VisitorNamespace(lambda: app[CONVERSATIONS], settings.message_max_chars, identity_secret)
    )

    async def resources(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        await upgrade_to_head(engine)
        http = aiohttp.ClientSession()
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
        rasa = RasaClient(http, settings.rasa_url, settings.action_server_url, token,
                          settings.rasa_timeout)
        sessionmaker = create_sessionmaker(engine)
        app[ENGINE] = engine
        app[RASA] = rasa
        privacy = app[PRIVACY] = PrivacyService(sessionmaker)
        app[CONVERSATIONS] = ConversationService(
            sessionmaker,
            rasa,
            VisitorIds(settings.secret_key.get_secret_value()),
            SocketNotifier(sio),
            privacy,
            settings.history_page_size,
        )
        yield
        await http.close()
        await engine.dispose()

    async def close_sockets(app: web.Application) -> None:
        # Close every socket at once so clients see the disconnect and reconnect
        # elsewhere instead of talking into a server that is going away.
        if sio.eio.sockets:
            await sio.eio.disconnect()
        await sio.shutdown()

    app.on_shutdown.append(close_sockets)
    app.cleanup_ctx.append(resources)
    app.add_routes(views.routes)
    app.add_routes(api.routes)
    app.router.add_static("/static", settings.static_dir)
    app.router.add_static("/web", settings.web_dir)
    return app
