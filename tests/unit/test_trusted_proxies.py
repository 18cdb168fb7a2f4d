"""TRUSTED_PROXIES: exact addresses and networks (a proxy on a container network)."""

from __future__ import annotations

from unittest import mock

import pytest
from aiohttp.test_utils import make_mocked_request
from pydantic import SecretStr

from chat_server.http.addresses import client_address, is_trusted
from chat_server.settings import Settings


def request_from(peer: str, forwarded: str) -> object:
    request = make_mocked_request("GET", "/", headers={"X-Forwarded-For": forwarded})
    return mock.Mock(wraps=request, remote=peer, headers=request.headers)


def test_addresses_and_networks_are_trusted() -> None:
    trusted = frozenset({"10.0.0.5", "172.30.0.0/24"})
    assert is_trusted("10.0.0.5", trusted)
    assert is_trusted("172.30.0.17", trusted)
    assert not is_trusted("172.30.1.1", trusted)
    assert not is_trusted("not-an-address", trusted)


def test_a_proxy_inside_a_trusted_network_forwards_the_client() -> None:
    trusted = frozenset({"172.30.0.0/24"})
    via_proxy = request_from("172.30.0.2", "198.51.100.7")
    assert client_address(via_proxy, trusted) == "198.51.100.7"  # type: ignore[arg-type]
    # A client outside the network cannot pretend to be someone else.
    direct = request_from("203.0.113.9", "198.51.100.7")
    assert client_address(direct, trusted) == "203.0.113.9"  # type: ignore[arg-type]


def test_a_bad_entry_stops_start_up() -> None:
    with pytest.raises(ValueError, match=r"300\.1\.1\.1"):
        Settings(secret_key=SecretStr("k" * 32), trusted_proxies="10.0.0.1, 300.1.1.1/8")
