"""Storage extensions for Rasa used by Rapport."""
