"""UntrustedProxyWarning: logged at most once an hour; reported until restart."""

from __future__ import annotations

from chat_server.http.proxy_warning import UntrustedProxyWarning


def test_the_log_hears_of_it_once_an_hour() -> None:
    now = [1_000_000.0]
    warning = UntrustedProxyWarning(clock=lambda: now[0])
    assert warning.seen("10.0.0.5")
    logged = 0
    for _ in range(3599):
        now[0] += 1
        logged += warning.seen("10.0.0.5")
    assert logged == 0
    now[0] += 1
    assert warning.seen("10.0.0.5")


def test_the_warning_names_the_setting_and_the_peers() -> None:
    warning = UntrustedProxyWarning(clock=lambda: 0.0)
    assert warning.warnings() == []
    warning.seen("172.30.0.2")
    [w] = warning.warnings()
    assert w["setting"] == "TRUSTED_PROXIES" and w["peers"] == ["172.30.0.2"]
    assert "TRUSTED_PROXIES=172.30.0.2" in w["message"]


def test_peers_remembered_are_bounded() -> None:
    warning = UntrustedProxyWarning(clock=lambda: 0.0)
    for i in range(1000):
        warning.seen(f"10.0.{i // 250}.{i % 250}")
    assert len(warning.warnings()[0]["peers"]) == 16
