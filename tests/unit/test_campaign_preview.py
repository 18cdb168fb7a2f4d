"""The campaign preview page (chat_server/http/campaign_preview.py): the opener
is reduced to what the widget shows and embedded so no text becomes markup."""

from __future__ import annotations

import json
import re

import pytest

from chat_server.http.campaign_preview import embed, preview_opener, preview_page

TEMPLATE = (
    "<html><body><main>store</main>\n"
    '<script src="/web/store.js" defer></script>\n'
    '<script src="/widget.js" async data-title="T"></script>\n</body></html>'
)


def test_only_what_the_widget_shows_and_bounded() -> None:
    raw = json.dumps(
        {
            "kind": "evil",
            "text": "x" * 5000,
            "quick_replies": ["Yes", "", 3, "y" * 200] + ["z"] * 20,
            "buttons": "not a list",
            "products": "true",
            "extra": "dropped",
        }
    )
    opener = preview_opener(raw)
    assert opener["kind"] == "bot"
    assert len(opener["text"]) == 1000
    assert opener["quick_replies"][:2] == ["Yes", "y" * 80]
    assert len(opener["quick_replies"]) == 10
    assert opener["buttons"] == []
    assert opener["products"] is False
    assert set(opener) == {"kind", "text", "quick_replies", "buttons", "products", "agent_name"}
    assert opener["agent_name"] == ""
    named = preview_opener(json.dumps({"kind": "agent", "text": "Hi", "agent_name": "S" * 99}))
    assert named["agent_name"] == "S" * 80


def test_an_nps_question_is_the_text() -> None:
    assert preview_opener('{"kind": "nps", "question": "How likely?"}')["text"] == "How likely?"


@pytest.mark.parametrize("raw", ["[1]", "not json", '{"text": 5}', "{" + " " * 30000 + "}"])
def test_anything_else_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        preview_opener(raw)


def test_no_text_can_close_the_json_block_or_become_markup() -> None:
    hostile = '</script><script>alert(1)</script><img src=x onerror=alert(2)> & "quotes"'
    opener = preview_opener(json.dumps({"text": hostile, "buttons": ["<b>hi</b>"]}))
    page = preview_page(TEMPLATE, opener)
    block = re.search(r'<script type="application/json" id="rapport-preview">(.*?)</script>', page)
    assert block is not None
    assert "<" not in block[1] and ">" not in block[1] and "&" not in block[1]
    assert json.loads(block[1])["text"] == hostile  # the widget gets the text back unchanged
    assert embed({"t": "<&>"}) == '{"t": "\\u003c\\u0026\\u003e"}'
    # One block, before the widget; the store's own script left out.
    assert page.count("rapport-preview") == 1
    assert page.index("rapport-preview") < page.index('src="/widget.js"')
    assert "/web/store.js" not in page
