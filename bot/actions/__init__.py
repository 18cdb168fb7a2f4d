"""Custom actions for the Rapport demo bot (Trailhead Outfitters).

One module per feature; rasa-sdk imports every submodule of this package
(``rasa run actions --actions actions`` from ``bot/``). Nothing here touches
the network or a database at import time; data files are read lazily once.
"""
