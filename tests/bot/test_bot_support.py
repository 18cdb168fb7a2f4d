"""Policies, prices, orders, newsletter, handoff and fallback actions."""

import pytest

from actions import store_policies
from actions.data import policies
from actions.fallback import ActionFallback
from actions.handoff import ActionHandoff
from actions.newsletter import ActionSubscribeNewsletter, ValidateNewsletterForm, extract_email
from actions.orders import ActionOrderStatus, ValidateOrderStatusForm, normalize_order_id
from actions.prices import ActionPriceInfo
from actions.store_policies import ActionPromotionsInfo, ActionReturnsInfo, ActionShippingInfo
from conftest import slot_events


def text_of(messages):
    return " ".join(m.get("text") or "" for m in messages)


def test_shipping_answer_comes_from_data(tracker, run, monkeypatch):
    _, messages = run(ActionShippingInfo(), tracker("shipping?", "ask_shipping"))
    assert "free on orders over $75" in text_of(messages)
    # change the data: the answer follows it
    data = {**policies(), "shipping": {**policies()["shipping"], "free_shipping_threshold": 99}}
    monkeypatch.setattr(store_policies, "policies", lambda: data)
    _, messages = run(ActionShippingInfo(), tracker("shipping?", "ask_shipping"))
    assert "free on orders over $99" in text_of(messages)


def test_returns_answer_uses_window_from_data(tracker, run):
    events, messages = run(ActionReturnsInfo(), tracker("returns?", "ask_returns"))
    assert f"within {policies()['returns']['window_days']} days" in text_of(messages)
    assert slot_events(events) == {"last_topic": "returns"}


def test_promotions_filtered_by_category(tracker, run):
    _, messages = run(
        ActionPromotionsInfo(),
        tracker("deals on tents", "ask_promotions", {"product_category": "tents"}),
    )
    text = text_of(messages)
    assert "TRAIL15" in text and "WARMUP20" not in text
    assert any(b["payload"] == "/subscribe_newsletter" for b in messages[0]["buttons"])


def test_price_for_category_and_named_product(tracker, run):
    _, messages = run(
        ActionPriceInfo(), tracker("tent prices", "ask_price", {"product_category": "tents"})
    )
    assert "Our tents range from $96.75 to $599 (6 models)" in text_of(messages)
    _, messages = run(ActionPriceInfo(), tracker("how much is the Ember Down Jacket", "ask_price"))
    assert "The Ember Down Jacket is $199.20" in text_of(messages)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("TR-10023", "TR-10023"),
        ("tr10023", "TR-10023"),
        ("my order is #10031", "TR-10031"),
        ("hello", None),
        ("12", None),
    ],
)
def test_normalize_order_id(raw, expected):
    assert normalize_order_id(raw) == expected


def test_order_form_rejects_garbage(tracker, run):
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    result = asyncio.run(
        ValidateOrderStatusForm().validate_order_id(
            "no idea", dispatcher, tracker("no idea", "inform"), {}
        )
    )
    assert result == {"order_id": None}
    assert dispatcher.messages[0]["response"] == "utter_invalid_order_id"


def test_order_status_known_and_unknown(tracker, run):
    events, messages = run(ActionOrderStatus(), tracker(slots={"order_id": "TR-10023"}))
    assert "Order TR-10023 (Ridge 2 Tent) has shipped with UPS" in text_of(messages)
    assert slot_events(events)["order_id"] is None
    _, messages = run(ActionOrderStatus(), tracker(slots={"order_id": "TR-99999"}))
    assert "couldn't find an order TR-99999" in text_of(messages)


def _validate_email(tracker, value):
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    result = asyncio.run(
        ValidateNewsletterForm().validate_email(
            value, dispatcher, tracker(value, "inform", active_loop="newsletter_form"), {}
        )
    )
    return result, dispatcher.messages


@pytest.mark.parametrize("bad", ["no", "jane at example dot com", "jane@", "@example.com", "a@b"])
def test_newsletter_form_rejects_non_emails(tracker, bad):
    result, messages = _validate_email(tracker, bad)
    assert result == {"email": None}
    assert messages[0]["response"] == "utter_invalid_email"


def test_newsletter_form_accepts_email_in_a_sentence(tracker):
    result, messages = _validate_email(tracker, "sure, it's Jane.Doe@Example.com thanks")
    assert result == {"email": "jane.doe@example.com"}
    assert messages == []
    assert extract_email("x") is None


def test_subscribe_records_consent(tracker, run):
    events, messages = run(
        ActionSubscribeNewsletter(), tracker(slots={"email": "jane@example.com"})
    )
    slots = slot_events(events)
    assert slots["marketing_consent"] is True
    assert slots["consent_at"].endswith("+00:00") and "T" in slots["consent_at"]
    assert "jane@example.com" in text_of(messages)
    assert policies()["newsletter"]["welcome_code"] in text_of(messages)


def test_subscribe_without_valid_email_sets_no_consent(tracker, run):
    events, _ = run(ActionSubscribeNewsletter(), tracker(slots={"email": "nope"}))
    assert "marketing_consent" not in slot_events(events)


@pytest.mark.parametrize(
    "intent,reason,texts",
    [
        ("request_human", "requested", []),
        ("complain", "complaint", ["I'm really sorry about that."]),
    ],
)
def test_handoff_payload(tracker, run, intent, reason, texts):
    # The bot promises nothing: only the chat server knows if anyone is online.
    events, messages = run(ActionHandoff(), tracker("help", intent))
    customs = [m["custom"] for m in messages if m.get("custom")]
    assert customs == [{"handoff": {"reason": reason}}]
    assert [m["text"] for m in messages if m.get("text")] == texts
    assert slot_events(events) == {"last_topic": "handoff"}


def test_fallback_lists_capabilities_and_tells_the_chat_server(tracker, run):
    _, messages = run(ActionFallback(), tracker("asdf", "nlu_fallback"))
    payloads = {b["payload"] for b in messages[0]["buttons"]}
    assert {"/request_human", "/ask_shipping", "/find_product"} <= payloads
    assert [m["custom"] for m in messages if m.get("custom")] == [{"fallback": True}]


def test_subscription_confirms_what_was_agreed_to(tracker, run):
    events, messages = run(
        ActionSubscribeNewsletter(), tracker("yes", "affirm", slots={"email": "jane@example.com"})
    )
    text = text_of(messages)
    assert "jane@example.com" in text
    assert "you agreed to receive our newsletter (new arrivals and deals) by email" in text
    assert "unsubscribe any time" in text
    assert "sent a link to jane@example.com" in text  # double opt-in: not subscribed yet
    slots = slot_events(events)
    assert slots["marketing_consent"] is True and slots["consent_at"]
