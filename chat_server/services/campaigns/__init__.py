"""Proactive campaigns: rules, matching, manners, the service (docs/campaigns.md)."""
