"""The product ids of the shop's catalog (bot/data/catalog.json), read at start-up.

Visitors report product-card clicks by id; only real products are accepted,
so nobody can fill a profile (and the bot's tracker) with invented ids.
"""

from __future__ import annotations

import json
from pathlib import Path


def product_ids(path: Path) -> frozenset[str]:
    """Ids of every product in the catalog file; a missing or broken file fails loudly."""
    data = json.loads(path.read_text(encoding="utf-8"))
    products = data.get("products") if isinstance(data, dict) else None
    if not isinstance(products, list):
        raise ValueError(f"{path}: expected an object with a 'products' list")
    return frozenset(str(p["id"]) for p in products if isinstance(p, dict) and p.get("id"))
