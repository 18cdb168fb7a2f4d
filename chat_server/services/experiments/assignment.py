"""Which arm of an experiment a unit is in: deterministic, stateless, even (pure).

``bucket`` hashes ``"{experiment_key}:{unit}"`` with SHA-256 to a number in [0, 1);
``choose_arm`` cuts [0, 1) into consecutive slices, one per arm, as wide as the
arm's weight, and returns the arm whose slice holds the number. The same unit
therefore always lands in the same arm of the same experiment, on every node and
after every restart, with no lookup (the stored assignment row only records it),
and different experiments split the same visitors independently, because the
experiment key is part of what is hashed.

The unit is the visitor id; an identified customer keeps one visitor id across
devices, so a customer sees one arm everywhere.

Changing the allocation moves slice boundaries, so some units change arm (adding
an arm, or changing the holdout from 10 % to 20 %, re-buckets part of the
population); a unit that saw variant A and then B would contaminate both. That
is why a running experiment's allocation cannot be edited: a change is a new
version, which is a new experiment key, which re-buckets everyone on purpose and
is analysed separately. tests/unit/test_experiment_assignment.py measures how many
units move when an arm is added.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from chat_server.services.experiments.errors import ExperimentInputError

CONTROL = "control"
"""The holdout arm's key: it is assigned and logged ("would have shown") but sees nothing."""

WEIGHT_TOLERANCE = 1e-9


def unit_interval(digest: bytes) -> float:
    """The first 53 bits of ``digest`` as a float in [0, 1), exactly (a double's mantissa).

    Dividing a 64-bit integer by 2**64 would round the largest values up to 1.0.
    """
    if len(digest) < 8:
        raise ExperimentInputError("need at least 8 bytes of digest")
    return (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)


def bucket(experiment_key: str, unit: str) -> float:
    """Uniform number in [0, 1) from SHA-256 of ``f"{experiment_key}:{unit}"``.

    SHA-256's output bits are indistinguishable from uniform for distinct inputs,
    so the buckets of many units are spread evenly (the chi-square test in the unit
    tests checks 10,000 of them) and independent across experiment keys.
    """
    digest = hashlib.sha256(f"{experiment_key}:{unit}".encode()).digest()
    return unit_interval(digest)


def _check_weights(arms: Sequence[tuple[str, float]]) -> None:
    if not arms:
        raise ExperimentInputError("an experiment needs at least one arm")
    keys = [key for key, _ in arms]
    if len(set(keys)) != len(keys):
        raise ExperimentInputError("arm keys must be unique")
    if any(not (math.isfinite(w) and w >= 0.0) for _, w in arms):
        raise ExperimentInputError("arm weights must be finite and >= 0")
    total = math.fsum(w for _, w in arms)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise ExperimentInputError(f"arm weights must add up to 1, got {total!r}")


def choose_arm(arms: Sequence[tuple[str, float]], u: float) -> str:
    """The arm whose slice of [0, 1) contains ``u``; arms in the order given.

    ``arms``: (key, weight) with weights >= 0 adding up to 1 within 1e-9 (else
    ExperimentInputError, a ValueError). An arm of weight 0 is never chosen.
    """
    _check_weights(arms)
    if not 0.0 <= u < 1.0:
        raise ExperimentInputError(f"u must be in [0, 1), got {u!r}")
    edge = 0.0
    for key, weight in arms:
        edge += weight
        if weight > 0.0 and u < edge:
            return key
    # Rounding left the last edge a hair below u (weights summing to 1 - 1e-12).
    return next(key for key, weight in reversed(arms) if weight > 0.0)


def allocation(holdout: float, variants: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """The arms to pass to ``choose_arm``: ``("control", holdout)`` first, then the
    variants scaled to share ``1 - holdout`` in proportion to their weights.

    ``allocation(0.1, [("a", 1), ("b", 1)])`` is control 10 %, a 45 %, b 45 %.
    """
    if not (math.isfinite(holdout) and 0.0 <= holdout < 1.0):
        raise ExperimentInputError(f"the holdout must be in [0, 1), got {holdout!r}")
    if not variants:
        raise ExperimentInputError("an experiment needs at least one variant")
    keys = [key for key, _ in variants]
    if CONTROL in keys:
        raise ExperimentInputError(f"{CONTROL!r} is the holdout's key, not a variant's")
    if len(set(keys)) != len(keys):
        raise ExperimentInputError("variant keys must be unique")
    if any(not (math.isfinite(w) and w > 0.0) for _, w in variants):
        raise ExperimentInputError("variant weights must be > 0")
    total = math.fsum(w for _, w in variants)
    return [(CONTROL, holdout)] + [(key, (1.0 - holdout) * w / total) for key, w in variants]
