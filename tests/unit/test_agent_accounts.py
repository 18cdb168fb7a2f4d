"""Pure parts of agent-account security: the sign-in backoff and "was this HTTPS?"."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from chat_server.http.auth import is_https
from chat_server.services.login_throttle import account_key, backoff_seconds


def test_free_failures_cost_nothing_then_the_delay_doubles_up_to_the_cap() -> None:
    delays = [backoff_seconds(n, free=5, cap=900) for n in range(1, 20)]
    assert delays[:5] == [0, 0, 0, 0, 0]
    assert delays[5:11] == [1, 2, 4, 8, 16, 32]
    assert max(delays) == 900 and delays[-1] == 900
    assert backoff_seconds(10**9, free=5, cap=900) == 900  # no overflow


def test_one_key_per_account_name_however_it_is_typed() -> None:
    assert account_key("  Alice ") == account_key("alice") == "alice"
    assert len(account_key("x" * 500)) == 64


def request(peer: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return make_mocked_request(
        "POST", "/api/auth/login", headers=headers or {}, transport=_Transport(peer)
    )


class _Transport:
    def __init__(self, peer: str) -> None:
        self.peer = peer

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": (self.peer, 1234)}.get(name, default)


def test_https_is_believed_only_from_a_trusted_proxy_or_the_public_url() -> None:
    https = {"X-Forwarded-Proto": "https"}
    trusted = frozenset({"10.0.0.0/8"})
    assert is_https(request("10.1.2.3", https), trusted, None)
    assert not is_https(request("203.0.113.9", https), trusted, None)  # anyone could say it
    assert not is_https(request("10.1.2.3"), trusted, None)
    # The value the proxy next to us wrote counts, not one a client prepended.
    assert not is_https(request("10.1.2.3", {"X-Forwarded-Proto": "https, http"}), trusted, None)
    assert is_https(request("203.0.113.9"), frozenset(), "https://chat.example.test")
    assert not is_https(request("203.0.113.9"), frozenset(), "http://chat.example.test")
