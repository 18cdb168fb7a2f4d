"""The products of the shop's catalog (bot/data/catalog.json), read at start-up.

Visitors report product-card clicks by id; only real products are accepted,
so nobody can fill a profile (and the bot's tracker) with invented ids.
Analytics reports clicks and impressions by the product's category.
"""

from __future__ import annotations

import json
from pathlib import Path


def product_categories(path: Path) -> dict[str, str | None]:
    """Every product id in the catalog file with its category; a missing or
    broken file fails loudly."""
    data = json.loads(path.read_text(encoding="utf-8"))
    products = data.get("products") if isinstance(data, dict) else None
    if not isinstance(products, list):
        raise ValueError(f"{path}: expected an object with a 'products' list")
    return {
        str(p["id"]): (str(p["category"]) if p.get("category") else None)
        for p in products
        if isinstance(p, dict) and p.get("id")
    }
