"""What a campaign's results cost: ``stats.analyse`` per call, and a 30-day series.

The results page analyses the experiment once for its table and once per day
for the uplift-over-time chart, so a month-old campaign costs ~31 analyses a
view. Timed here on random counts, 2 and 3 arms, both modes; and, in the same
run, the two library paths the SRM check and the fixed intervals could take:
``scipy.stats.chisquare`` / ``norm.ppf`` (array machinery around the same
formulas) against ``scipy.special.chdtrc`` / ``ndtri`` (the ufuncs beneath),
which is what ``stats.py`` and ``uplift.py`` call.

Results: bench/results/experiment_analysis.json. Part of `make bench`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import chdtrc, ndtri
from scipy.stats import chisquare, norm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from chat_server.services.experiments.stats import ArmCounts, analyse  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "experiment_analysis.json"
CALLS = 2000


def cases(rng: np.random.Generator, arms: int) -> list[tuple[list[ArmCounts], dict[str, float]]]:
    keys = ["control", "A", "B"][:arms]
    weights = {"control": 0.1, "A": 0.45, "B": 0.45} if arms == 3 else {"control": 0.5, "A": 0.5}
    out = []
    for _ in range(CALLS):
        n = rng.integers(200, 50_000)
        counts = rng.multinomial(n, [weights[k] for k in keys])
        rows = [
            ArmCounts(k, int(c), int(c), int(rng.binomial(c, 0.05 + 0.01 * i)))
            for i, (k, c) in enumerate(zip(keys, counts, strict=True))
        ]
        out.append((rows, weights))
    return out


def per_call_us(fn: Any, args: list[Any]) -> dict[str, float]:
    times = []
    for a in args:
        started = time.perf_counter()
        fn(*a)
        times.append((time.perf_counter() - started) * 1e6)
    return {
        "p50": round(percentile(times, 50), 1),
        "p99": round(percentile(times, 99), 1),
        "mean": round(sum(times) / len(times), 1),
    }


def main() -> None:
    rng = np.random.default_rng(24)
    report: dict[str, Any] = {"benchmark": "experiment_analysis", "calls": CALLS, "analyse_us": {}}
    for arms in (2, 3):
        data = cases(rng, arms)
        for mode in ("sequential", "fixed"):
            report["analyse_us"][f"{arms}_arms_{mode}"] = per_call_us(
                lambda rows, w, m=mode: analyse(rows, weights=w, mode=m), data
            )
    three = report["analyse_us"]["3_arms_sequential"]["mean"]
    report["series_30_days_ms"] = round(31 * three / 1000, 1)
    observed = [[int(x) for x in rng.multinomial(10_000, [0.1, 0.45, 0.45])] for _ in range(CALLS)]
    expected = [1000.0, 4500.0, 4500.0]

    def via_stats(o: list[int]) -> float:
        return float(chisquare(o, expected).pvalue) + float(norm.ppf(0.975))

    def via_special(o: list[int]) -> float:
        statistic = sum((c - e) ** 2 / e for c, e in zip(o, expected, strict=True))
        return float(chdtrc(2, statistic)) + float(ndtri(0.975))

    slow = per_call_us(via_stats, [(o,) for o in observed])
    fast = per_call_us(via_special, [(o,) for o in observed])
    assert all(abs(via_stats(o) - via_special(o)) < 1e-9 for o in observed[:200]), (
        "the two paths must agree"
    )
    report["srm_and_quantile_us"] = {
        "scipy.stats": slow,
        "scipy.special": fast,
        "ratio_mean": round(slow["mean"] / fast["mean"], 1),
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
