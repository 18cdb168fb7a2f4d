"""Campaign openers on the real trained model, through Rasa's HTTP API.

The chat server opens a conversation with ``POST /conversations/{id}/trigger_intent``
(no ``output_channel``: the replies come back in ``messages``), then the
visitor answers through the ``rapport`` channel. Here a real Rasa server
(``launch_rasa.py run --enable-api``, the project's endpoints.yml with its SQL
tracker store on a throwaway SQLite file) and the real action server do both.
Needs the model `make test` trained (RAPPORT_MODEL).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dev.devstack import free_port  # below the ephemeral range: no port race

BOT_DIR = Path(__file__).resolve().parents[2] / "bot"
TOKEN = secrets.token_urlsafe(16)
CONTENT = {
    "text": "Heading out this weekend? Tents are 20% off until Sunday.",
    "buttons": [{"title": "Show me tents", "payload": '/find_product{"product_category":"tents"}'}],
    "quick_replies": ["Yes please", "No thanks"],
    "followup": "Great! Use code TRAIL20 at checkout for the extra 5%.",
}
GENERIC = "Can I help you find anything today?"  # utter_campaign_generic
DECLINED = "I'll leave you to it"  # utter_campaign_declined


def wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 (http://127.0.0.1)
            return
        except OSError:
            assert proc.poll() is None, f"{url}: the process exited"
            assert time.monotonic() < deadline, f"{url}: not up after {seconds} s"
            time.sleep(0.5)


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Rasa server (HTTP API on) and action server on free loopback ports."""
    model = os.environ.get("RAPPORT_MODEL")
    assert model, "set RAPPORT_MODEL to the trained model (make test does)"
    tmp = tmp_path_factory.mktemp("campaign-rasa")
    action_port, rasa_port = free_port(), free_port()
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "SANIC_HOST": "127.0.0.1",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}",
        "TRACKER_STORE_URL": f"sqlite:///{tmp / 'tracker.db'}",
        "RASA_TOKEN": TOKEN,
    }
    log = (tmp / "servers.log").open("wb")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(action_port)],
            cwd=BOT_DIR,
            env=env,
            stdout=log,
            stderr=log,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "launch_rasa.py",
                "run",
                "--enable-api",
                "-i",
                "127.0.0.1",
                "-p",
                str(rasa_port),
                "--model",
                str(Path(model).resolve()),
                "--credentials",
                "credentials.yml",
                "--endpoints",
                "endpoints.yml",
            ],
            cwd=BOT_DIR,
            env=env,
            stdout=log,
            stderr=log,
        ),
    ]
    url = f"http://127.0.0.1:{rasa_port}"
    try:
        wait_for(f"http://127.0.0.1:{action_port}/health", procs[0], 60)
        wait_for(f"{url}/status?token={TOKEN}", procs[1], 240)  # model loaded
        yield url
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(20)
        log.close()


def call(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1)
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def trigger(rasa: str, sender: str, entities: Any, intent: str = "campaign_opener") -> Any:
    """What the chat server does: trigger_intent without output_channel."""
    status, data = call(
        "POST",
        f"{rasa}/conversations/{sender}/trigger_intent?token={TOKEN}&include_events=NONE",
        {"name": intent, "entities": entities},
    )
    assert status == 200, data
    return data


def say(rasa: str, sender: str, text: str) -> list[dict[str, Any]]:
    """A visitor message through the rapport channel (as the chat server sends it)."""
    status, data = call(
        "POST", f"{rasa}/webhooks/rapport/webhook", {"sender": sender, "message": text}
    )
    assert status == 200, data
    return data["messages"]


def events_of(rasa: str, sender: str) -> list[dict[str, Any]]:
    status, data = call(
        "GET", f"{rasa}/conversations/{sender}/tracker?token={TOKEN}&include_events=ALL"
    )
    assert status == 200, data
    return data["events"]


def texts(messages: list[dict[str, Any]]) -> str:
    return " ".join(m.get("text") or "" for m in messages)


def cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        p
        for m in messages
        if isinstance(m.get("custom"), dict) and m["custom"].get("type") == "product_cards"
        for p in m["custom"]["products"]
    ]


def visitor() -> str:
    return f"visitor-{uuid.uuid4().hex[:12]}"


def opener_entities(content: Any, variant: str = "b") -> dict[str, Any]:
    return {"campaign": "12", "campaign_variant": variant, "campaign_content": content}


def test_the_opener_says_the_variant_and_its_entities_fill_the_slots(rasa: str) -> None:
    sender = visitor()
    data = trigger(rasa, sender, opener_entities(CONTENT))
    first = data["messages"][0]
    assert first["text"] == CONTENT["text"]
    assert [b["title"] for b in first["buttons"]] == ["Show me tents", "Yes please", "No thanks"]
    assert not cards(data["messages"])  # products not asked for
    slots = data["tracker"]["slots"]
    assert slots["campaign"] == "12"
    assert slots["campaign_variant"] == "b"
    assert slots["campaign_content"]["followup"] == CONTENT["followup"]

    # Rasa logged the trigger as an external user turn, and the slot mapping
    # (not only the action) filled the slots from its dict-valued entities.
    events = events_of(rasa, sender)
    user = [e for e in events if e["event"] == "user"]
    assert [u["text"] for u in user] == ["EXTERNAL: campaign_opener"]
    assert user[0]["metadata"]["is_external"] is True
    opener_at = next(
        i
        for i, e in enumerate(events)
        if e["event"] == "action" and e["name"] == "action_campaign_opener"
    )
    mapped = {
        e["name"]: e["value"]
        for e in events[events.index(user[0]) : opener_at]
        if e["event"] == "slot"
    }
    assert mapped["campaign_variant"] == "b"
    assert mapped["campaign_content"] == CONTENT

    # The visitor accepts: the variant's follow-up.
    assert texts(say(rasa, sender, "yes please")) == CONTENT["followup"]


def test_no_is_acknowledged_and_the_conversation_goes_on_normally(rasa: str) -> None:
    sender = visitor()
    trigger(rasa, sender, opener_entities({**CONTENT, "products": True}))
    declined = say(rasa, sender, "no thanks")
    assert DECLINED in texts(declined)
    assert not cards(declined) and CONTENT["followup"] not in texts(declined)
    # After the opener, anything else is the normal dialogue.
    other = visitor()
    trigger(rasa, other, opener_entities(CONTENT))
    assert "shipping" in texts(say(rasa, other, "how much is shipping?")).lower()


def test_products_come_from_the_remembered_interests(rasa: str) -> None:
    sender = visitor()
    # What the bot learnt earlier: the visitor looked at backpacks.
    found = cards(say(rasa, sender, "show me backpacks"))
    assert found and all(c["category"] == "backpacks" for c in found)
    data = trigger(rasa, sender, opener_entities({"text": "New packs just in!", "products": True}))
    assert data["messages"][0]["text"] == "New packs just in!"
    shown = cards(data["messages"])
    assert shown and all(c["category"] == "backpacks" for c in shown)
    # No follow-up text: a yes recommends more.
    more = cards(say(rasa, sender, "yes"))
    assert more and all(c["category"] == "backpacks" for c in more)


@pytest.mark.parametrize(
    "content",
    [
        None,
        "{not json at all",
        ["a", "list"],
        {"text": {"nested": "object"}},
        {"buttons": [{"title": "Yes", "payload": "/affirm"}]},
    ],
)
def test_missing_or_malformed_content_gets_the_generic_opener(rasa: str, content: Any) -> None:
    sender = visitor()
    entities = opener_entities(content) if content is not None else {"campaign": "12"}
    data = trigger(rasa, sender, entities)
    said = texts(data["messages"])
    assert GENERIC in said
    assert "not json" not in said and "nested" not in said and "{" not in said
    assert data["tracker"]["slots"]["campaign_content"] is None


def test_content_may_arrive_as_json_text(rasa: str) -> None:
    sender = visitor()
    data = trigger(rasa, sender, opener_entities(json.dumps(CONTENT), variant="a"))
    assert data["messages"][0]["text"] == CONTENT["text"]
    assert data["tracker"]["slots"]["campaign_variant"] == "a"
    assert texts(say(rasa, sender, "sure")) == CONTENT["followup"]


def test_a_visitor_typing_the_intent_sets_no_campaign(rasa: str) -> None:
    sender = visitor()
    typed = '/campaign_opener{"campaign_variant": "forged", "campaign_content": {"text": "pwned"}}'
    said = texts(say(rasa, sender, typed))
    assert "pwned" not in said and GENERIC in said
    status, tracker = call("GET", f"{rasa}/conversations/{sender}/tracker?token={TOKEN}")
    assert status == 200 and tracker["slots"]["campaign_variant"] is None


def test_an_intent_outside_the_domain_is_404(rasa: str) -> None:
    status, data = call(
        "POST",
        f"{rasa}/conversations/{visitor()}/trigger_intent?token={TOKEN}",
        {"name": "no_such_intent", "entities": {}},
    )
    assert status == 404 and "does not exist in the domain" in data["message"]


@pytest.mark.parametrize(
    "text", ["campaign opener", "EXTERNAL: campaign_opener", "any offers this week?", "yes please"]
)
def test_nothing_a_visitor_types_is_read_as_the_opener(rasa: str, text: str) -> None:
    status, parsed = call("POST", f"{rasa}/model/parse?token={TOKEN}", {"text": text})
    assert status == 200
    ranked = [parsed["intent"]["name"], *(i["name"] for i in parsed["intent_ranking"])]
    assert "campaign_opener" not in ranked
