"""Lazy, cached access to the shop's data files (``bot/data/``).

Files are small and read once per process on first use, so actions never do
file I/O after the first call. ``RAPPORT_BOT_DATA_DIR`` overrides the folder
(tests use it to point at fixtures).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def data_dir() -> Path:
    return Path(os.environ.get("RAPPORT_BOT_DATA_DIR", DEFAULT_DATA_DIR))


@lru_cache(maxsize=4)
def _load_catalog(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)["products"]


@lru_cache(maxsize=4)
def _load_policies(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def catalog() -> list[dict[str, Any]]:
    """All products of ``catalog.json`` (cached)."""
    return _load_catalog(str(data_dir() / "catalog.json"))


def policies() -> dict[str, Any]:
    """The parsed ``policies.yml`` (cached)."""
    return _load_policies(str(data_dir() / "policies.yml"))


def clear_cache() -> None:
    _load_catalog.cache_clear()
    _load_policies.cache_clear()
