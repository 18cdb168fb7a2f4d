"""Typed application keys shared by the app factory and the views."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.rasa_client import RasaClient
from chat_server.services.container import Services
from chat_server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
RASA = web.AppKey("rasa", RasaClient)
SERVICES = web.AppKey("services", Services)
