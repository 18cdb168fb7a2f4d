"""Small statistics for the dashboard: rates and percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence


def rate(part: float, whole: float) -> float | None:
    """``part / whole`` rounded to 4 places; None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct`` percentile by linear interpolation between closest ranks
    (numpy's default; the median of [1, 2, 3, 4] is 2.5); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * pct / 100
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 3)


def mean(values: Sequence[float]) -> float | None:
    """The average rounded to 2 places; None without values."""
    return round(sum(values) / len(values), 2) if values else None
