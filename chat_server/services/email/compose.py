"""Building emails (pure): plain text first, a simple HTML alternative, and
every header set through the email library, never by string concatenation.

A name or subject with a line break cannot add a header: ``EmailMessage``
with the SMTP policy refuses CR and LF in header values, and names are
passed as ``Address`` objects, which quote and encode them. Callers pass
text; this module escapes it for the HTML part.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from chat_server.db.models import utcnow

# Line breaks and other control characters never reach a header.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(value: str, limit: int = 200) -> str:
    """``value`` as a single header-safe line (control characters become spaces)."""
    return _CONTROL.sub(" ", value).strip()[:limit]


@dataclass(frozen=True)
class Brand:
    """Who the mail is from, and how it looks."""

    name: str
    color: str
    from_address: str
    from_name: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str


def build(
    brand: Brand,
    to: str,
    subject: str,
    paragraphs: list[str],
    *,
    button: Link | None = None,
    footer: str | None = None,
    unsubscribe_url: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """One email: ``paragraphs`` as plain text with an HTML alternative.

    A marketing email passes ``unsubscribe_url``: it is in the footer of both
    parts and in ``List-Unsubscribe`` with one-click ``List-Unsubscribe-Post``
    (RFC 8058), which mail clients show as an unsubscribe button.
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(one_line(brand.from_name, 80), addr_spec=brand.from_address)
    msg["To"] = Address(addr_spec=to)
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain=brand.from_address.rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        msg[name] = one_line(value, 900)
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    text = "\n\n".join(paragraphs)
    if button:
        text += f"\n\n{button.label}:\n{button.url}"
    closing = [footer] if footer else []
    if unsubscribe_url:
        closing.append(f"Unsubscribe: {unsubscribe_url}")
    if closing:
        text += "\n\n-- \n" + "\n".join(closing)
    msg.set_content(text + "\n")
    msg.add_alternative(_html(brand, paragraphs, button, footer, unsubscribe_url), subtype="html")
    return msg


def _html(
    brand: Brand,
    paragraphs: list[str],
    button: Link | None,
    footer: str | None,
    unsubscribe_url: str | None,
) -> str:
    e = html.escape
    body = "".join(f"<p>{e(p)}</p>" for p in paragraphs)
    if button:
        body += (
            f'<p><a href="{e(button.url)}" style="display:inline-block;padding:10px 18px;'
            f"background:{e(brand.color)};color:#ffffff;text-decoration:none;"
            f'border-radius:6px">{e(button.label)}</a></p>'
            f'<p style="font-size:13px;color:#57606a">Or open this link: {e(button.url)}</p>'
        )
    small = []
    if footer:
        small.append(e(footer))
    if unsubscribe_url:
        small.append(f'<a href="{e(unsubscribe_url)}">Unsubscribe</a>')
    foot = f'<hr><p style="font-size:12px;color:#57606a">{"<br>".join(small)}</p>' if small else ""
    return (
        '<!doctype html><html><body style="font-family:system-ui,sans-serif;'
        'line-height:1.5;color:#1f2328;max-width:560px">'
        f'<p style="font-weight:600;color:{e(brand.color)}">{e(brand.name)}</p>'
        f"{body}{foot}</body></html>"
    )
