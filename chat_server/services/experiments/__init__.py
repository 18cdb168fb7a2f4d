"""Experiments: deterministic assignment and the statistics of their results.

- ``assignment``: which arm a unit (visitor) is in, from a hash (pure, no I/O).
- ``stats``: per-arm rates, uplift against control, the decision (pure); built on
  ``uplift`` (intervals and p-values), ``sequential`` (anytime-valid confidence
  sequences) and ``planning`` (sample size and duration before launch).

This package's ``__init__`` imports nothing, so the page-view path that needs only
``assignment`` does not load statsmodels/scipy. docs/experiments.md explains the
statistics with references.
"""
