"""Typed application keys shared by the app factory and the views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.http.proxy_warning import UntrustedProxyWarning
from chat_server.rasa_client import RasaClient
from chat_server.services.container import Services
from chat_server.services.email.catcher import CaughtMail
from chat_server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
RASA = web.AppKey("rasa", RasaClient)
SERVICES = web.AppKey("services", Services)
# With REDIS_URL: the state of this node's link to the other nodes (health details).
CLUSTER_STATUS: web.AppKey[Callable[[], dict[str, Any]]] = web.AppKey("cluster_status")
# Forwarded requests from a proxy missing from TRUSTED_PROXIES (http/proxy_warning.py).
PROXY_WARNING = web.AppKey("proxy_warning", UntrustedProxyWarning)
# Development only (DEV_MAIL_CATCHER_PORT): the mail caught by the local catcher.
MAIL_CATCHER = web.AppKey("mail_catcher", CaughtMail)
