from chat_server.identity import VisitorIds


def test_issued_ids_verify_and_carry_the_visitor_id() -> None:
    ids = VisitorIds("s" * 32)
    visitor_id, token = ids.issue()
    assert ids.verify(token) == visitor_id
    assert len(visitor_id) == 32


def test_forged_or_foreign_ids_are_refused() -> None:
    ids = VisitorIds("s" * 32)
    visitor_id, token = ids.issue()
    other_server = VisitorIds("t" * 32)
    assert ids.verify(other_server.sign(visitor_id)) is None
    assert ids.verify(visitor_id) is None  # unsigned
    # Flip a character inside the signature (the last base64 character can carry
    # only padding bits, so changing it may not change the signature at all).
    i = len(visitor_id) + 5
    assert ids.verify(token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]) is None
    other_visitor = "0" * 32
    # The signature moved to another id.
    assert ids.verify(other_visitor + token[len(visitor_id):]) is None
    assert ids.verify("") is None
    assert ids.verify(None) is None
    assert ids.verify(123) is None
    assert ids.verify("x" * 10_000) is None


def test_a_signed_value_that_is_not_a_visitor_id_is_refused() -> None:
    ids = VisitorIds("s" * 32)
    assert ids.verify(ids.sign("../../etc/passwd")) is None
