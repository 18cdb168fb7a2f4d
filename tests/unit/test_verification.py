"""The identity claim's signed message (chat_server/verification.py): pure functions."""

import hashlib
import hmac

import pytest

from chat_server.protocol.visitor import ProtocolError
from chat_server.verification import signed_message, user_hash, verify_claim

SECRET = "identity-secret"
ANON = "0123456789abcdef0123456789abcdef"


def hex_hmac(message: str) -> str:
    return hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_claims_without_a_merge_are_signed_over_the_user_id_alone() -> None:
    # Existing integrations: the hash they compute still verifies.
    assert signed_message("42") == "42"
    claim = verify_claim({"user_id": "42", "user_hash": hex_hmac("42")}, SECRET)
    assert claim is not None and claim.merge_anonymous is None


def test_a_merge_is_covered_by_the_hash() -> None:
    session = f"{ANON}.0.abc.def"
    for value in (ANON, session):
        expected = hex_hmac(f"42\0merge_anonymous={value}")
        assert user_hash(SECRET, "42", value) == expected
        claim = verify_claim(
            {"user_id": "42", "user_hash": expected, "merge_anonymous": value}, SECRET
        )
        assert claim is not None and claim.merge_visitor_id == ANON


@pytest.mark.parametrize(
    "claim",
    [
        # The page adds the field to a plain claim: refused.
        {"user_id": "42", "user_hash": hex_hmac("42"), "merge_anonymous": ANON},
        # Signed for another anonymous visitor.
        {"user_id": "42", "user_hash": user_hash(SECRET, "42", "f" * 32), "merge_anonymous": ANON},
        # A user id carrying the separator cannot pose as a merge claim.
        {
            "user_id": f"42\0merge_anonymous={ANON}",
            "user_hash": hex_hmac(f"42\0merge_anonymous={ANON}"),
        },
        # Not a visitor id.
        {"user_id": "42", "user_hash": user_hash(SECRET, "42", "x"), "merge_anonymous": "x"},
    ],
)
def test_unsigned_or_malformed_merges_are_refused(claim: dict[str, str]) -> None:
    with pytest.raises(ProtocolError):
        verify_claim(claim, SECRET)


def test_a_verified_email_counts_only_when_signed() -> None:
    email = "Jane@Example.com"
    signed = hex_hmac("42\0email_verified=jane@example.com")
    assert user_hash(SECRET, "42", verified_email=email) == signed
    claim = verify_claim(
        {"user_id": "42", "user_hash": signed, "email": email, "email_verified": True}, SECRET
    )
    assert claim is not None and claim.verified_email == "jane@example.com"
    # The plain user hash does not verify a claim that adds email_verified ...
    with pytest.raises(ProtocolError):
        verify_claim(
            {"user_id": "42", "user_hash": hex_hmac("42"), "email": email, "email_verified": True},
            SECRET,
        )
    # ... nor one whose address differs from the one signed.
    with pytest.raises(ProtocolError):
        verify_claim(
            {
                "user_id": "42",
                "user_hash": signed,
                "email": "x@example.com",
                "email_verified": True,
            },
            SECRET,
        )
    with pytest.raises(ProtocolError):  # email_verified without an email
        verify_claim({"user_id": "42", "user_hash": signed, "email_verified": True}, SECRET)
    # Without the flag the email is the page's word only: not verified.
    plain = verify_claim({"user_id": "42", "user_hash": hex_hmac("42"), "email": email}, SECRET)
    assert plain is not None and plain.verified_email is None


def test_merge_and_verified_email_are_signed_together_in_one_order() -> None:
    expected = hex_hmac(f"42\0merge_anonymous={ANON}\0email_verified=a@b.example")
    assert user_hash(SECRET, "42", ANON, "a@b.example") == expected
