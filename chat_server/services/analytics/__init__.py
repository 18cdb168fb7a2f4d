"""Analytics over the interaction event log (docs/analytics.md)."""

from chat_server.services.analytics.service import TABLES, AnalyticsService, UnknownTable
from chat_server.services.analytics.window import Window

__all__ = ["TABLES", "AnalyticsService", "UnknownTable", "Window"]
