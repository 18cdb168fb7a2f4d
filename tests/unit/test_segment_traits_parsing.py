"""What the browser sends, as traits: device class, language, referrer host, budget."""

from __future__ import annotations

import pytest

from chat_server.services.segments.traits import (
    browser_language,
    budget_of,
    device_class,
    referrer_host,
)

# Real User-Agent strings (current browsers as of 2026 and a few older ones).
USER_AGENTS = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15",
        "desktop",
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "desktop"),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.81 Mobile Safari/537.36",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        "mobile",
    ),
    ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "mobile"),
    (
        "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 "
        "Edge/15.15063",
        "mobile",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Mobile/15E148 Safari/604.1",
        "tablet",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "tablet",
    ),
    (
        "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Silk/130.3.1 like Chrome/130.0.6723.107 Safari/537.36",
        "tablet",
    ),
    ("", None),
    (None, None),
    ("   ", None),
]


@pytest.mark.parametrize(("user_agent", "device"), USER_AGENTS)
def test_device_class_from_real_user_agents(user_agent: str | None, device: str | None) -> None:
    assert device_class(user_agent) == device


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de-de"),
        ("en-US,en;q=0.5", "en-us"),
        ("pt-BR", "pt-br"),
        ("fr;q=0.9, en", "fr"),
        (" EN ", "en"),
        ("zh-Hant-TW,zh;q=0.8", "zh-hant-tw"),
        ("*", None),
        ("", None),
        (None, None),
        ("x" * 40, None),
        ("de_DE", None),
        ("'; DROP TABLE x; --", None),
    ],
)
def test_browser_language_is_the_first_tag_lower_case(
    header: str | None, language: str | None
) -> None:
    assert browser_language(header) == language


@pytest.mark.parametrize(
    ("referrer", "page", "host"),
    [
        ("https://www.google.com/search?q=tents", "https://shop.example/", "www.google.com"),
        ("https://Shop.Example/cart", "https://shop.example/", None),  # the site itself
        ("https://news.example:8443/a", None, "news.example"),
        ("not a url", "https://shop.example/", None),
        ("http://[::1", "https://shop.example/", None),
        (None, "https://shop.example/", None),
    ],
)
def test_referrer_host(referrer: str | None, page: str | None, host: str | None) -> None:
    assert referrer_host(referrer, page) == host


@pytest.mark.parametrize(
    ("slot", "budget"),
    [
        (300, 300.0),
        (99.5, 99.5),
        ("300", 300.0),
        ("$1,250", 1250.0),
        ("cheap", None),
        (True, None),
        (None, None),
        (-5, None),
        ([300], None),
    ],
)
def test_budget_of_the_bot_slot(slot: object, budget: float | None) -> None:
    assert budget_of(slot) == budget
