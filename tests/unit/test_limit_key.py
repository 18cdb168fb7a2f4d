"""`limit_key`: the key of every per-address limit (IPv4 address, IPv6 /64)."""

from __future__ import annotations

import pytest

from chat_server.http.addresses import is_private_peer, limit_key


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        # Every address of one /64 (one subscriber's network) is one key.
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:0:0:0:9", "2001:db8:1:2::/64"),  # any spelling
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        # IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 peer) is IPv4.
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("::ffff:cb00:7107", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),  # a zone does not make a new key
        ("unknown", "unknown"),
        ("not an address", "not an address"),
    ],
)
def test_limit_key(address: str, key: str) -> None:
    assert limit_key(address) == key


def test_two_addresses_in_one_64_share_a_key_and_other_64s_do_not() -> None:
    assert limit_key("2001:db8:aa:bb::1") == limit_key("2001:db8:aa:bb:1234:5678:9abc:def0")
    assert limit_key("2001:db8:aa:bb::1") != limit_key("2001:db8:aa:bc::1")
    assert limit_key("198.51.100.1") != limit_key("198.51.100.2")


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.30.0.5", True),
        ("192.168.1.1", True),
        ("::1", True),
        ("fd00::1", True),
        ("::ffff:10.0.0.1", True),
        ("203.0.113.7", False),
        ("8.8.8.8", False),
        ("2606:4700::1", False),
        ("unknown", False),
    ],
)
def test_private_peer(address: str, private: bool) -> None:
    assert is_private_peer(address) is private
