"""The bot's own NLU components (loaded by Rasa from bot/config.yml)."""
