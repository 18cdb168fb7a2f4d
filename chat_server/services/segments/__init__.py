"""Segments: saved, named filters over what Rapport knows about visitors.

- ``fields``: the registry of what a filter can test (docs/segments.md);
- ``filter``: the filter model, validated against the registry;
- ``evaluate``: the pure evaluator (one visitor, in memory: campaigns);
- ``sql``: the same filter as a SQL WHERE clause (counts, members);
- ``traits``: upkeep of visitor_traits / visitor_tags as events arrive;
- ``service``: saved segments (CRUD, counts, membership).
"""
