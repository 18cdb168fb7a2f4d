import time

from itsdangerous import Signer

from chat_server.identity import SessionToken, VisitorIds


def test_issued_ids_verify_and_carry_the_visitor_id_and_generation() -> None:
    ids = VisitorIds("s" * 32, max_age_seconds=86_400)
    visitor_id = ids.new_visitor_id()
    assert len(visitor_id) == 32
    for generation in (0, 7):
        token = ids.verify(ids.sign(visitor_id, generation))
        assert token is not None
        assert (token.visitor_id, token.generation, token.legacy) == (visitor_id, generation, False)
        assert abs(token.issued_at - time.time()) < 5


def test_forged_or_foreign_ids_are_refused() -> None:
    ids = VisitorIds("s" * 32, max_age_seconds=86_400)
    visitor_id = ids.new_visitor_id()
    token = ids.sign(visitor_id, 0)
    other_server = VisitorIds("t" * 32, max_age_seconds=86_400)
    assert ids.verify(other_server.sign(visitor_id, 0)) is None
    assert ids.verify(visitor_id) is None  # unsigned
    signature_at = token.rindex(".") + 3
    flipped = "A" if token[signature_at] != "A" else "B"
    assert ids.verify(token[:signature_at] + flipped + token[signature_at + 1 :]) is None
    # The signature moved to another id, or to another generation.
    assert ids.verify("0" * 32 + token[len(visitor_id) :]) is None
    assert ids.verify(token.replace(f"{visitor_id}.0.", f"{visitor_id}.1.", 1)) is None
    for junk in ("", None, 123, "x" * 10_000):
        assert ids.verify(junk) is None


def test_ids_expire_after_the_max_age() -> None:
    ids = VisitorIds("s" * 32, max_age_seconds=1)
    token = ids.sign(ids.new_visitor_id(), 0)
    assert ids.verify(token) is not None
    time.sleep(2.1)
    assert ids.verify(token) is None


def test_a_signed_value_that_is_not_a_visitor_id_is_refused() -> None:
    ids = VisitorIds("s" * 32, max_age_seconds=86_400)
    assert ids.verify(ids.sign("../../etc/passwd", 0)) is None


def test_ids_issued_before_rotation_existed_are_read_as_legacy() -> None:
    ids = VisitorIds("s" * 32, max_age_seconds=86_400)
    visitor_id = ids.new_visitor_id()
    old = Signer("s" * 32, salt="rapport.visitor-session").sign(visitor_id).decode()
    assert ids.verify(old) == SessionToken(visitor_id, 0, legacy=True)
    forged = Signer("t" * 32, salt="rapport.visitor-session").sign(visitor_id).decode()
    assert ids.verify(forged) is None
