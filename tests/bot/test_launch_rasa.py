"""The Rasa launcher hands Rasa the token from the environment, whatever it looks like."""

from __future__ import annotations

import sys

import pytest
import rasa.__main__

import launch_rasa


def run_launcher(monkeypatch: pytest.MonkeyPatch, token: str, args: list[str]) -> list[str]:
    """The argv Rasa's own CLI would parse."""
    seen: list[str] = []
    monkeypatch.setenv("RASA_TOKEN", token)
    monkeypatch.setattr(sys, "argv", ["launch_rasa.py", *args])
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.extend(sys.argv))
    launch_rasa.main()
    return seen


@pytest.mark.parametrize("token", ["plain-token_123", "-starts-with-a-dash", "--looks-like-a-flag"])
def test_the_token_reaches_rasa_as_one_argument(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    argv = run_launcher(monkeypatch, token, ["run", "--enable-api", "-p", "5005"])
    # Parsed exactly as Rasa's CLI parses it (a dash-led token once made Rasa exit 2).
    parser = rasa.__main__.create_argument_parser()
    parsed = parser.parse_args(argv[1:])
    assert parsed.auth_token == token
    assert "RASA_TOKEN" not in __import__("os").environ


def test_refuses_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    monkeypatch.setattr(sys, "argv", ["launch_rasa.py", "run"])
    with pytest.raises(SystemExit):
        launch_rasa.main()
