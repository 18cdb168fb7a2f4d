"""Agent accounts (issue 21, section 4) on an in-process chat server (SQLite and PostgreSQL).

Revoking a credential closes the sockets opened with it; a password change or
reset ends the other sessions and the API token; admins deactivate and
reactivate agents; sign-in guessing is throttled per account across
addresses without locking a whole office out; cookies are Secure behind a
TLS proxy. Addresses are simulated with X-Forwarded-For from 127.0.0.1 (a
trusted proxy here) and are loopback addresses themselves.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer

from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.support.agents import PASSWORD, AgentClient, create_agent
from tests.support.redis_server import RedisServer
from tests.support.visitor import Visitor

NEW_PASSWORD = "a brand new passphrase 42"
# How long a test waits for a socket to be closed; the measured times are
# printed (they are well under a second: docs/security.md).
CLOSE_WAIT = 5.0


class Socket:
    """An /agent socket (by cookie or token) that notes when the server closes it."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.closed = asyncio.Event()
        self.sio.on("disconnect", self._closed, namespace="/agent")

    async def _closed(self, *args: Any) -> None:
        self.closed.set()

    async def open(
        self, url: str, *, cookie: str | None = None, token: str | None = None
    ) -> Socket:
        await self.sio.connect(
            url,
            namespaces=["/agent"],
            headers={"Cookie": f"rapport_session={cookie}"} if cookie else {},
            auth={"token": token} if token else None,
            transports=["websocket"],
            wait_timeout=10,
        )
        return self

    async def wait_closed(self) -> float:
        """Seconds until the server closed the socket (TimeoutError after CLOSE_WAIT)."""
        start = time.monotonic()
        await asyncio.wait_for(self.closed.wait(), CLOSE_WAIT)
        return time.monotonic() - start

    @property
    def open_now(self) -> bool:
        return self.sio.connected and not self.closed.is_set()

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


def session_cookie(agent: AgentClient) -> str:
    for cookie in agent.http.cookie_jar:
        if cookie.key == "rapport_session":
            return cookie.value
    raise AssertionError("not logged in")


async def new_agent(srv: TestServer, name: str, **kw: Any) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        return await create_agent(http, base(srv), ADMIN_TOKEN, name=name, **kw)


async def signed_in(srv: TestServer, username: str, password: str = PASSWORD) -> AgentClient:
    return await AgentClient(base(srv), username, password).login()


async def login_status(
    srv: TestServer, username: str, password: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            base(srv) + "/api/auth/login",
            json={"username": username, "password": password},
            headers=headers or {},
        ) as resp,
    ):
        return resp.status, await resp.json(), resp


async def refused_socket(url: str, *, cookie: str | None = None, token: str | None = None) -> bool:
    try:
        sock = await Socket().open(url, cookie=cookie, token=token)
    except socketio.exceptions.ConnectionError:
        return True
    await sock.close()
    return False


async def test_logout_closes_that_sessions_sockets_and_no_other(server: TestServer) -> None:
    url = base(server)
    data = await new_agent(server, "Lou")
    laptop, phone = (
        await signed_in(server, data["username"]),
        await signed_in(server, data["username"]),
    )
    laptop_cookie = session_cookie(laptop)
    laptop_socket = await Socket().open(url, cookie=laptop_cookie)
    phone_socket = await Socket().open(url, cookie=session_cookie(phone))
    try:
        await laptop.ok("POST", "/api/auth/logout")
        took = await laptop_socket.wait_closed()
        print(f"logout closed the socket after {took * 1000:.0f} ms")
        assert await refused_socket(url, cookie=laptop_cookie)
        # The phone's session and socket are another sign-in: untouched.
        await asyncio.sleep(0.3)
        assert phone_socket.open_now
        assert (await phone.ok("GET", "/api/me"))["agent"]["id"] == data["id"]
    finally:
        await laptop_socket.close()
        await phone_socket.close()
        await laptop.close()
        await phone.close()


async def test_sign_out_everywhere_by_the_agent_and_by_an_admin(server: TestServer) -> None:
    url = base(server)
    data = await new_agent(server, "Eve")
    admin_data = await new_agent(server, "Boss", role="admin")
    admin = await signed_in(server, admin_data["username"])
    for by_admin in (False, True):
        one, two = (
            await signed_in(server, data["username"]),
            await signed_in(server, data["username"]),
        )
        token = await one.api_token()
        sockets = [
            await Socket().open(url, cookie=session_cookie(one)),
            await Socket().open(url, cookie=session_cookie(two)),
            await Socket().open(url, token=token),
        ]
        try:
            if by_admin:
                await admin.ok("POST", f"/api/agents/{data['id']}/sign-out-everywhere")
            else:
                await one.ok("POST", "/api/me/sign-out-everywhere")
            for sock in sockets:
                await sock.wait_closed()
            for session in (one, two):
                assert (await session.call("GET", "/api/me"))[0] == 401
            async with (
                aiohttp.ClientSession() as http,
                http.get(url + "/api/me", headers={"Authorization": f"Bearer {token}"}) as resp,
            ):
                assert resp.status == 401
            assert await refused_socket(url, token=token)
        finally:
            for sock in sockets:
                await sock.close()
            await one.close()
            await two.close()
    # Agents cannot do it to each other.
    other = await signed_in(server, (await new_agent(server, "Peer"))["username"])
    status, _body = await other.call("POST", f"/api/agents/{admin_data['id']}/sign-out-everywhere")
    assert status == 403
    assert (await admin.call("GET", "/api/me"))[0] == 200
    await other.close()
    await admin.close()


async def test_a_password_change_ends_every_other_session_and_the_api_token(
    server: TestServer,
) -> None:
    url = base(server)
    data = await new_agent(server, "Pat")
    here, there = (
        await signed_in(server, data["username"]),
        await signed_in(server, data["username"]),
    )
    token = await here.api_token()
    here_socket = await Socket().open(url, cookie=session_cookie(here))
    there_socket = await Socket().open(url, cookie=session_cookie(there))
    token_socket = await Socket().open(url, token=token)
    try:
        await here.ok(
            "POST", "/api/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        )
        await there_socket.wait_closed()
        await token_socket.wait_closed()
        assert (await there.call("GET", "/api/me"))[0] == 401
        async with (
            aiohttp.ClientSession() as http,
            http.get(url + "/api/me", headers={"Authorization": f"Bearer {token}"}) as resp,
        ):
            assert resp.status == 401
        # The session that changed it goes on.
        await asyncio.sleep(0.3)
        assert here_socket.open_now
        assert (await here.call("GET", "/api/me"))[0] == 200
        assert (await login_status(server, data["username"], PASSWORD))[0] == 401
        assert (await login_status(server, data["username"], NEW_PASSWORD))[0] == 200
    finally:
        for sock in (here_socket, there_socket, token_socket):
            await sock.close()
        await here.close()
        await there.close()


async def test_an_admin_password_reset_ends_everything_and_asks_for_a_new_one(
    server: TestServer,
) -> None:
    url = base(server)
    data = await new_agent(server, "Rae")
    agent = await signed_in(server, data["username"])
    token = await agent.api_token()
    sockets = [
        await Socket().open(url, cookie=session_cookie(agent)),
        await Socket().open(url, token=token),
    ]
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{url}/api/agents/{data['id']}/password",
                json={"password": "one-time-password-77"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            ) as resp,
        ):
            assert resp.status == 204
        for sock in sockets:
            await sock.wait_closed()
        assert (await agent.call("GET", "/api/me"))[0] == 401
        status, body, _ = await login_status(server, data["username"], "one-time-password-77")
        assert status == 200 and body["must_change_password"] is True
    finally:
        for sock in sockets:
            await sock.close()
        await agent.close()


async def test_a_deactivated_agent_is_out_at_once_and_their_chats_requeued(
    server: TestServer,
) -> None:
    url = base(server)
    data = await new_agent(server, "Dee", max_chats=2)
    admin_data = await new_agent(server, "Ada", role="admin")
    admin = await signed_in(server, admin_data["username"])
    agent = await signed_in(server, data["username"])
    await agent.set_status("online")
    await agent.connect()  # with an API token
    cookie_socket = await Socket().open(url, cookie=session_cookie(agent))
    token_socket = Socket()
    token_socket.sio = agent.sio
    agent.sio.on("disconnect", token_socket._closed, namespace="/agent")  # type: ignore[union-attr]
    visitor = Visitor(rapport=True)
    await visitor.connect(url)
    backup = None
    try:
        await visitor.say("hello, a human please")  # Rasa is down: handed to Dee
        cid = (await agent.wait_for("assignment"))["conversation"]["id"]
        backup = await signed_in(server, (await new_agent(server, "Backup"))["username"])
        await backup.set_status("online")
        status, body = await admin.call("POST", f"/api/agents/{data['id']}/deactivate")
        assert status == 200, body
        assert body["agent"]["active"] is False and body["requeued"] == [cid]
        await cookie_socket.wait_closed()
        await token_socket.wait_closed()
        # No session, no token, no sign-in: with the right password a clear message,
        # with a wrong one the usual answer (nothing to learn about the account).
        assert (await agent.call("GET", "/api/me"))[0] == 401
        assert await refused_socket(url, token=agent.token)
        status, body, _ = await login_status(server, data["username"], PASSWORD)
        assert status == 403 and body["error"] == "deactivated"
        assert body["message"] == "This account is deactivated; ask an admin"
        status, body, _ = await login_status(server, data["username"], "not-the-password")
        assert status == 401 and "deactivated" not in body["message"]
        # The visitor goes back to the queue and on to the next free agent, who
        # sees the whole history.
        await visitor.wait_for("handoff_status", lambda s: s["state"] == "queued", timeout=10)
        await visitor.wait_for(
            "handoff_status", lambda s: s.get("agent_name") == "Backup", timeout=10
        )
        detail = await backup.ok("GET", f"/api/conversations/{cid}")
        assert detail["conversation"]["assigned_agent"]["id"] == backup.id
        messages = (await backup.ok("GET", f"/api/conversations/{cid}/messages"))["messages"]
        assert "hello, a human please" in [m["text"] for m in messages]
        # Nobody can hand a conversation to a deactivated agent.
        status, body = await backup.call(
            "POST", f"/api/conversations/{cid}/transfer", {"agent_id": data["id"]}
        )
        assert status == 409 and body["message"] == "that agent is deactivated"
        listed = {a["id"]: a for a in (await admin.ok("GET", "/api/agents"))["agents"]}
        assert listed[data["id"]]["active"] is False
        assert listed[data["id"]]["status"] == "offline"
        # Reactivated: the same password works again; old credentials stay dead.
        status, body = await admin.call("POST", f"/api/agents/{data['id']}/reactivate")
        assert status == 200 and body["agent"]["active"] is True
        assert (await agent.call("GET", "/api/me"))[0] == 401
        again = await signed_in(server, data["username"])
        assert (await again.ok("GET", "/api/me"))["agent"]["active"] is True
        await again.close()
    finally:
        if backup is not None:
            await backup.set_status("offline")
            await backup.close()
        await cookie_socket.close()
        await agent.close()
        await visitor.close()
        await admin.close()


async def test_the_last_active_admin_cannot_be_deactivated(server: TestServer) -> None:
    url = base(server)
    first = await new_agent(server, "Solo", role="admin")
    admin = await signed_in(server, first["username"])
    try:
        status, body = await admin.call("POST", f"/api/agents/{first['id']}/deactivate")
        assert status == 409 and body["error"] == "last_admin"
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{url}/api/agents/{first['id']}/deactivate",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            ) as resp,
        ):
            assert resp.status == 409
        assert (await admin.call("GET", "/api/me"))[0] == 200
        # With a second admin, the first may go (and is signed out by it).
        await new_agent(server, "Second", role="admin")
        status, body = await admin.call("POST", f"/api/agents/{first['id']}/deactivate")
        assert status == 200 and body["agent"]["active"] is False
        assert (await admin.call("GET", "/api/me"))[0] == 401
    finally:
        await admin.close()


# -- sign-in throttling and cookies (SQLite; limits as in production) --------------------


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"


def via(address: str, proto: str | None = None) -> dict[str, str]:
    headers = {"X-Forwarded-For": address}
    if proto:
        headers["X-Forwarded-Proto"] = proto
    return headers


async def guesses_until_throttled(srv: TestServer, username: str, limit: int = 15) -> int:
    """Wrong passwords, each from another address, until one is refused (429)."""
    for attempt in range(1, limit + 1):
        address = f"127.0.{attempt // 250}.{attempt % 250 + 2}"
        status, body, resp = await login_status(srv, username, f"guess-{attempt}", via(address))
        if status == 429:
            assert body["error"] == "rate_limited"
            assert int(resp.headers["Retry-After"]) >= 1
            return attempt
        assert status == 401 and body["message"] == "wrong username or password"
    raise AssertionError(f"{limit} guesses from {limit} addresses, never throttled")


async def test_guessing_one_account_from_many_addresses_is_throttled(sqlite_url: str) -> None:
    srv = await start_server(sqlite_url, trusted_proxies="127.0.0.1")
    try:
        victim = await new_agent(srv, "Vic")
        bystander = await new_agent(srv, "Bea")
        first_refusal = await guesses_until_throttled(srv, victim["username"])
        # Even the right password waits now, from yet another address...
        status, body, _resp = await login_status(
            srv, victim["username"], PASSWORD, via("127.0.9.9")
        )
        assert status == 429 and body["message"].startswith("Too many sign-in attempts")
        # ... an unknown name is throttled just the same (no account probing) ...
        assert await guesses_until_throttled(srv, "no-such-agent") == first_refusal
        # ... and another agent signs in from the very addresses the guesses came from.
        for address in ("127.0.0.3", "127.0.0.4", "127.0.9.9"):
            status, _, _ = await login_status(srv, bystander["username"], PASSWORD, via(address))
            assert status == 200
    finally:
        await srv.close()


async def test_junk_sign_ins_from_one_address_do_not_lock_out_the_office(sqlite_url: str) -> None:
    # Production's sign-in limits (today's and the former per-address one).
    srv = await start_server(
        sqlite_url,
        trusted_proxies="127.0.0.1",
        rate_limit_logins="5/minute;20/hour",
        rate_limit_logins_per_ip="60/hour",
        rate_limit_login_failures_per_ip="300/hour",
    )
    try:
        colleague = await new_agent(srv, "Col")
        office = via("127.0.0.77")
        for n in range(61):
            status, _, _ = await login_status(srv, f"junk-{n}", "whatever-it-is", office)
            assert status == 401
        status, body, _ = await login_status(srv, colleague["username"], PASSWORD, office)
        assert status == 200, body
    finally:
        await srv.close()


async def secure_flag(srv: TestServer, headers: dict[str, str]) -> bool:
    agent = await new_agent(srv, "Sec")
    status, _, resp = await login_status(srv, agent["username"], PASSWORD, headers)
    assert status == 200
    cookie = resp.cookies["rapport_session"]
    return bool(cookie["secure"])


async def test_session_cookie_is_secure_behind_a_tls_proxy(sqlite_url: str, tmp_path: Any) -> None:
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.5"}
    behind_proxy = await start_server(sqlite_url, trusted_proxies="127.0.0.1")
    try:
        assert await secure_flag(behind_proxy, https)
        assert not await secure_flag(behind_proxy, {})  # plain http from the proxy
    finally:
        await behind_proxy.close()
    # The same header from a peer that is no trusted proxy proves nothing.
    untrusted = await start_server(sqlite_url)
    try:
        assert not await secure_flag(untrusted, https)
    finally:
        await untrusted.close()
    # A public https address: always Secure (nothing is ever sent to it).
    public = await start_server(sqlite_url, public_url="https://chat.example.test")
    try:
        assert await secure_flag(public, {})
    finally:
        await public.close()


# -- several nodes: the revocation reaches sockets on the other node ----------------------


async def test_revocation_closes_sockets_on_every_node(tmp_path: Any) -> None:
    with RedisServer(tmp_path) as redis_server:
        url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        a = await start_server(url, redis_url=redis_server.url(0))
        b = await start_server(url, redis_url=redis_server.url(0))
        try:
            data = await new_agent(a, "Nod")
            agent = await signed_in(a, data["username"])
            token = await agent.api_token()
            on_b = await Socket().open(base(b), cookie=session_cookie(agent))
            token_on_b = await Socket().open(base(b), token=token)
            await agent.ok("POST", "/api/auth/logout")  # on node A
            await on_b.wait_closed()
            await asyncio.sleep(0.3)
            assert token_on_b.open_now  # logout ends that session only
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"{base(a)}/api/agents/{data['id']}/deactivate",
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                ) as resp,
            ):
                assert resp.status == 200
            await token_on_b.wait_closed()
            await on_b.close()
            await token_on_b.close()
            await agent.close()
        finally:
            await a.close()
            await b.close()


async def test_a_burst_of_parallel_guesses_gets_no_more_tries(database_url: str) -> None:
    srv = await start_server(database_url, trusted_proxies="127.0.0.1")
    try:
        victim = await new_agent(srv, "Burst")
        statuses = await asyncio.gather(
            *(
                login_status(srv, victim["username"], f"guess-{n}", via(f"127.0.1.{n + 2}"))
                for n in range(20)
            )
        )
        codes = sorted(status for status, _, _ in statuses)
        # Five free failures and the sixth, which starts the wait; the rest wait.
        assert codes.count(401) == 6 and codes.count(429) == 14, str(codes)
    finally:
        await srv.close()
