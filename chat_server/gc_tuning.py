"""The garbage collector set for a long-running server with many sockets.

With CPython's defaults (thresholds 700, 10, 10) the chat server ran a full
collection about every 0.6 s under 1,000 visitors and 20 agents, ~250 ms
each with every socket waiting: the human path's p99 (docs/performance.md,
"Human path at scale"). Once the server has started:

- ``gc.freeze()``: the objects of the imports and of the built app (~200,000)
  move to the permanent generation and are never scanned again;
- a young generation of ``YOUNG`` allocations: a message's objects (ORM
  rows, payloads, futures) die before a collection looks at them, instead of
  being promoted and piling up until a full collection.

Reference cycles are still collected, only less often.
"""

from __future__ import annotations

import gc

YOUNG = 50_000
MIDDLE = 20
OLD = 100


def tune_for_serving() -> None:
    """Freeze what start-up built, then collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
