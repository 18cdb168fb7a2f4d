"""Rasa input channels used by Rapport's chat server."""
