"""The server's collector settings (chat_server/gc_tuning.py): what start-up
built is frozen, and young objects are collected less often."""

from __future__ import annotations

import gc

from chat_server import gc_tuning


def test_serving_freezes_start_up_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        gc_tuning.tune_for_serving()
        assert gc.get_threshold() == (gc_tuning.YOUNG, gc_tuning.MIDDLE, gc_tuning.OLD)
        assert gc.get_freeze_count() > 10_000  # this process's imports, at least
        # Cycles are still collected (the collector is on, only less eager).
        assert gc.isenabled()
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
