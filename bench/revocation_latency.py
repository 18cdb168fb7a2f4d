"""How soon a revoked console session loses its live socket (issue 21, section 4).

One node (SQLite), then two nodes sharing a database and a redis-server (the
socket on node B, the logout sent to node A). Each round: sign in, open the
/agent socket with the session cookie, then time from sending
``POST /api/auth/logout`` to the socket's ``disconnect``. Prints p50/max and
writes bench/results/revocation_latency.json. In-process servers, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from tests.integration.conftest import base, start_server  # noqa: E402
from tests.integration.test_agent_accounts import (  # noqa: E402
    Socket,
    new_agent,
    session_cookie,
    signed_in,
)
from tests.support.redis_server import RedisServer  # noqa: E402


async def rounds(login_node: Any, socket_node: Any, n: int) -> list[float]:
    data = await new_agent(login_node, "Bench")
    times = []
    for _ in range(n):
        agent = await signed_in(login_node, data["username"])
        sock = await Socket().open(base(socket_node), cookie=session_cookie(agent))
        start = time.monotonic()
        await agent.ok("POST", "/api/auth/logout")
        await asyncio.wait_for(sock.closed.wait(), 10)
        times.append((time.monotonic() - start) * 1000)
        await sock.close()
        await agent.close()
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(percentile(ordered, 50), 1),
        "max_ms": round(ordered[-1], 1),
        "n": len(ordered),
    }


async def main(n: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/one.db"
        one = await start_server(url)
        try:
            results["one_node"] = summary(await rounds(one, one, n))
        finally:
            await one.close()
        with RedisServer(Path(tmp)) as redis:
            url = f"sqlite+aiosqlite:///{tmp}/two.db"
            a = await start_server(url, redis_url=redis.url(0))
            b = await start_server(url, redis_url=redis.url(0))
            try:
                results["two_nodes_socket_on_the_other"] = summary(await rounds(a, b, n))
            finally:
                await a.close()
                await b.close()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    out = asyncio.run(main(args.rounds))
    print(json.dumps(out, indent=2))
    (ROOT / "bench" / "results" / "revocation_latency.json").write_text(json.dumps(out, indent=2))
