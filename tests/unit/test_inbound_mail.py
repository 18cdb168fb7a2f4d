"""Reading an email answer (services/email/inbound.py): pure, no I/O."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from chat_server.services.email.inbound import html_to_text, is_automatic, new_text
from chat_server.services.email.replies import ReplyTokens


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("Thanks!\n\nOn Tue, 8 Dec 2026, Shop <a@b.c> wrote:\n> old", "Thanks!"),
        ("Yes\n> quoted\nafter the quote", "Yes\nafter the quote"),
        ("Ok\n-- \nJane\n555-1234", "Ok"),
        ("Ok\n--\nJane", "Ok"),
        ("Sure\n\n-----Original Message-----\nFrom: Shop", "Sure"),
        ("Sure\n________________________________\nFrom: Shop\nSent: Tuesday", "Sure"),
        ("D'accord\n\nLe mar. 8 déc. 2026, Shop a écrit :\n> vieux", "D'accord"),
        ("Ja\n\nAm 08.12.2026 schrieb Shop:\n> alt", "Ja"),
        ("Fine\n\nSent from my iPhone", "Fine"),
        ("a\n\n\n\nb", "a\n\nb"),
        ("> only a quote", ""),
    ],
)
def test_new_text_cuts_quotes_and_signatures(body: str, kept: str) -> None:
    assert new_text(body) == kept


def _mail(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("x")
    return msg


@pytest.mark.parametrize(
    ("headers", "sender", "automatic"),
    [
        ({}, "jane@example.com", False),
        ({"Auto_Submitted": "no"}, "jane@example.com", False),
        ({"Auto_Submitted": "auto-replied"}, "jane@example.com", True),
        ({"Auto_Submitted": "auto-generated"}, "jane@example.com", True),
        ({"Precedence": "bulk"}, "jane@example.com", True),
        ({"X_Autoreply": "yes"}, "jane@example.com", True),
        ({"List_Id": "<news.example.com>"}, "jane@example.com", True),
        ({}, "", True),  # a bounce: the null sender
        ({}, "<>", True),
    ],
)
def test_automatic_mail_is_recognised(
    headers: dict[str, str], sender: str, automatic: bool
) -> None:
    assert is_automatic(_mail(**headers), sender) is automatic


def test_html_to_text_drops_scripts_styles_and_markup() -> None:
    html = (
        "<html><head><title>t</title><style>p{}</style></head><body>"
        "<script>alert(1)</script><p>Hello&nbsp;<b>there</b> &lt;3</p><br>Bye</body></html>"
    )
    assert html_to_text(html) == "Hello there <3\n\nBye"


def test_reply_tokens_name_their_conversation_only() -> None:
    tokens = ReplyTokens("secret-key", "reply.example.test")
    address = tokens.address(42)
    assert address is not None and address.startswith("reply+")
    assert tokens.conversation(address) == 42
    assert tokens.conversation(f"<{address.upper().replace('REPLY+', 'reply+')}>") is None
    assert tokens.conversation(address.replace("reply.example.test", "other.example")) is None
    assert ReplyTokens("another-key", "reply.example.test").conversation(address) is None
    assert tokens.conversation("reply+42@reply.example.test") is None
    assert tokens.conversation("jane@example.com") is None
    assert ReplyTokens("secret-key", None).address(42) is None
