import pytest

from chat_server.protocol import visitor as protocol


def test_user_uttered_accepts_a_normal_message() -> None:
    event = protocol.parse_user_uttered(
        {"message": "hi", "session_id": "x", "customData": {"page_url": "https://shop.example/a"}},
        2000,
    )
    assert event.message == "hi"
    assert protocol.page_url(event.customData) == "https://shop.example/a"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (None, protocol.INVALID_PAYLOAD),
        ("hi", protocol.INVALID_PAYLOAD),
        ([1, 2], protocol.INVALID_PAYLOAD),
        ({}, protocol.INVALID_PAYLOAD),
        ({"message": 42}, protocol.INVALID_PAYLOAD),
        ({"message": ["a"]}, protocol.INVALID_PAYLOAD),
        ({"message": "hi", "customData": "nope"}, protocol.INVALID_PAYLOAD),
        ({"message": ""}, protocol.EMPTY_MESSAGE),
        ({"message": "   \n"}, protocol.EMPTY_MESSAGE),
        ({"message": "x" * 2001}, protocol.MESSAGE_TOO_LONG),
    ],
)
def test_user_uttered_rejects_bad_payloads(payload: object, code: str) -> None:
    with pytest.raises(protocol.ProtocolError) as err:
        protocol.parse_user_uttered(payload, 2000)
    assert err.value.code == code


def test_message_of_exactly_the_limit_is_fine() -> None:
    assert protocol.parse_user_uttered({"message": "x" * 2000}, 2000).message == "x" * 2000


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"session_id": "abc"}, "abc"),
        ("abc", "abc"),
        ({"session_id": 5}, None),
        (None, None),
        ([], None),
    ],
)
def test_session_request_shapes(data: object, expected: str | None) -> None:
    assert protocol.parse_session_request(data) == expected


def test_page_url_ignores_non_http_values() -> None:
    assert protocol.page_url({"page_url": "javascript:alert(1)"}) is None
    assert protocol.page_url({"page_url": 3}) is None
    assert protocol.page_url(None) is None


def test_rasa_messages_become_bot_uttered_like_rasas_socketio_channel() -> None:
    assert protocol.to_bot_uttered({"recipient_id": "v", "text": "Hi"}) == {"text": "Hi"}
    assert protocol.to_bot_uttered(
        {"text": "Pick", "buttons": [{"title": "Tents", "payload": "/find_product"}]}
    ) == {
        "text": "Pick",
        "quick_replies": [{"content_type": "text", "title": "Tents", "payload": "/find_product"}],
    }
    assert protocol.to_bot_uttered({"image": "https://x/y.png"}) == {
        "attachment": {"type": "image", "payload": {"src": "https://x/y.png"}}
    }
    cards = {"type": "product_cards", "products": []}
    assert protocol.to_bot_uttered({"custom": cards}) == {"custom": cards}
