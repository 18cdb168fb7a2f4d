"""The SMTP relay: where mail goes and how (``SMTP_URL``), and one send.

A send either succeeds, fails for now (relay down, timeout, a 4xx answer:
:class:`TemporaryFailure`, retried) or is refused for good (a 5xx answer:
:class:`PermanentFailure`, shown on the outbox row and never retried).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib


class TemporaryFailure(Exception):
    """Try again later."""


class PermanentFailure(Exception):
    """The relay refused this email for good."""


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    use_tls: bool  # TLS from the first byte (smtps://)
    start_tls: bool | None  # True: required; None: when offered
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0


def relay_from_url(
    url: str,
    username: str | None = None,
    password: str | None = None,
    password_file: Path | None = None,
    timeout: float = 20.0,
) -> Relay:
    """``smtp://``, ``smtp+starttls://`` or ``smtps://`` host[:port]; credentials
    from the settings (a password file wins over the URL's)."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname:
        raise ValueError("expected smtp://host[:port], smtp+starttls://host[:port] or smtps://…")
    default_port = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[scheme]
    if password_file is not None:
        password = password_file.read_text().strip()
    return Relay(
        host=parts.hostname,
        port=parts.port or default_port,
        use_tls=scheme == "smtps",
        start_tls=True if scheme == "smtp+starttls" else None if scheme == "smtp" else False,
        username=username or (unquote(parts.username) if parts.username else None),
        password=password or (unquote(parts.password) if parts.password else None),
        timeout=timeout,
    )


async def send(relay: Relay, message: str, sender: str, recipient: str) -> None:
    """Hand one message to the relay; raises Temporary- or PermanentFailure."""
    try:
        await aiosmtplib.send(
            message.encode("utf-8"),
            sender=sender,
            recipients=[recipient],
            hostname=relay.host,
            port=relay.port,
            use_tls=relay.use_tls,
            start_tls=relay.start_tls,
            username=relay.username,
            password=relay.password,
            timeout=relay.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        error = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        if codes and all(500 <= c < 600 for c in codes):
            raise PermanentFailure(error) from exc
        raise TemporaryFailure(error) from exc
    except aiosmtplib.SMTPResponseException as exc:
        error = f"{exc.code} {exc.message}"
        if 500 <= exc.code < 600 and not isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            raise PermanentFailure(error) from exc
        # 4xx, and a bad login (the operator fixes it; the mail waits)
        raise TemporaryFailure(error) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise TemporaryFailure(str(exc) or type(exc).__name__) from exc
