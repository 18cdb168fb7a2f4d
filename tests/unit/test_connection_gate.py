"""ConnectionGate: which TCP connections may stay (pure bookkeeping, no sockets)."""

from __future__ import annotations

import pytest

from chat_server.http.connections import ConnectionGate


class Conn:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.01  # every connection arrives a little after the last
        return self.now


def gate(clock: Clock | None = None, **overrides: int) -> ConnectionGate:
    limits = {
        "max_connections": 10,
        "max_handshaking": 5,
        "max_handshaking_per_key": 3,
        "max_per_key": 8,
        **overrides,
    }
    return ConnectionGate(trusted_proxies=("10.0.0.1",), clock=clock or Clock(), **limits)


def test_the_oldest_handshaking_connection_makes_room_for_a_newcomer() -> None:
    g = gate()
    slow = [Conn(f"s{i}") for i in range(5)]
    for i, c in enumerate(slow):
        assert g.opened(c, f"198.51.100.{i}", c.close)
    newcomer = Conn("new")
    assert g.opened(newcomer, "203.0.113.9", newcomer.close)
    assert [c.closed for c in slow] == [True, False, False, False, False]
    assert g.handshaking_count == 5 and g.open_count == 5


def test_per_address_the_oldest_of_that_address_goes() -> None:
    clock = Clock()
    g = gate(clock)
    mine = [Conn(f"m{i}") for i in range(3)]
    other = Conn("other")
    assert g.opened(other, "198.51.100.1", other.close)
    for c in mine:
        assert g.opened(c, "203.0.113.9", c.close)
    clock.now += 2  # they have had time to send their heads, and did not
    fourth = Conn("m3")
    assert g.opened(fourth, "203.0.113.9", fourth.close)
    assert mine[0].closed and not other.closed and not mine[1].closed


def test_an_ipv6_64_counts_as_one_address() -> None:
    clock = Clock()
    g = gate(clock)
    conns = [Conn(str(i)) for i in range(4)]
    for i, c in enumerate(conns):
        if i == 3:
            clock.now += 2
        assert g.opened(c, f"2001:db8:1:2::{i + 1}", c.close)
    assert conns[0].closed  # the fourth of one /64 evicted the first


def test_a_burst_from_one_address_is_not_evicted_before_it_could_speak() -> None:
    g = gate(max_handshaking=100, max_connections=100, max_per_key=100)
    burst = [Conn(str(i)) for i in range(20)]  # accepted in one go, none has spoken yet
    for c in burst:
        assert g.opened(c, "203.0.113.9", c.close)
    assert not any(c.closed for c in burst)


def test_connections_that_finished_their_head_are_never_evicted_and_the_cap_holds() -> None:
    g = gate(max_connections=3)
    done = [Conn(str(i)) for i in range(3)]
    for i, c in enumerate(done):
        assert g.opened(c, f"198.51.100.{i}", c.close)
        g.head_done(c)
    late = Conn("late")
    assert not g.opened(late, "203.0.113.9", late.close)  # full of real requests: refused
    assert not any(c.closed for c in done)
    g.closed(done[0])
    assert g.opened(late, "203.0.113.9", late.close)  # a place was freed


def test_open_connections_per_address_are_capped_except_for_trusted_proxies() -> None:
    g = gate(max_per_key=2, max_connections=100, max_handshaking=100, max_handshaking_per_key=100)
    for i in range(2):
        c = Conn(str(i))
        assert g.opened(c, "203.0.113.9", c.close)
        g.head_done(c)
    assert not g.opened(Conn("x"), "203.0.113.9", lambda: None)
    for i in range(5):  # the proxy carries everyone's traffic
        c = Conn(f"p{i}")
        assert g.opened(c, "10.0.0.1", c.close)
        g.head_done(c)


def test_closing_twice_is_harmless() -> None:
    g = gate()
    c = Conn("c")
    assert g.opened(c, "198.51.100.1", c.close)
    g.closed(c)
    g.closed(c)
    assert g.open_count == 0 and g.handshaking_count == 0


def test_the_budget_stays_below_the_descriptor_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    from chat_server.http import connections

    limits = {"now": (1024, 1024)}
    monkeypatch.setattr(resource, "getrlimit", lambda _: limits["now"])
    monkeypatch.setattr(resource, "setrlimit", lambda _, v: limits.update(now=v))
    # Hard limit 1024: 1024 - 128 reserved - 3 x 64 accepts in flight.
    assert connections.connection_budget(16384, 128) == 704
    # A higher hard limit: the soft one is raised as far as needed, no further.
    limits["now"] = (1024, 1_000_000)
    assert connections.connection_budget(16384, 128) == 16384
    assert limits["now"] == (16384 + 128 + 192, 1_000_000)
