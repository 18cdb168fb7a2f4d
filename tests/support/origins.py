"""A second origin for pages that embed a widget from "another site" in browser tests.

Its port is chosen once per test run, so the live stack can allow it
(ALLOWED_ORIGINS) before the page server that uses it starts.
"""

from dev.devstack import free_port

THIRD_PARTY_PORT = free_port()
THIRD_PARTY_ORIGIN = f"http://127.0.0.1:{THIRD_PARTY_PORT}"
