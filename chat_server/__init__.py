"""Rapport chat server: websocket relay between visitors, agents and Rasa."""

__version__ = "0.1.0"
