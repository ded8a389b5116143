"""The projector view's service (demo/service/classroom/presenter.py) on the real store and model:
found by the join code, counts before the reveal and votes only after, no names anywhere, and a
wrong code counted against the address like a wrong join code."""

from __future__ import annotations

import pytest

from demo.classroom import cards
from demo.service import UserError
from demo.service.classroom import example_files


def test_the_projector_shows_counts_then_the_reveal_and_never_a_name(svc):
    key = svc.new_teacher_key()
    teacher = svc.teacher(key, "en")
    s = svc.create_set(teacher, "Week 4", svc.items_from_examples([p.name for p in example_files()][:1], "en"), "en")
    session = svc.start_session(teacher, s.code, "en")
    ann, bob = svc.app.new_visitor_token(), svc.app.new_visitor_token()
    item = svc.join(ann, session.code, "Ann-Q7", "en").item
    svc.join(bob, session.code, "Bob-Z9", "en")
    svc.answer(ann, session.code, item.id, "fake", 4, "ann-secret reason", "en")

    v = svc.presenter_view(session.code.lower(), "en")
    assert (v.answered, v.session.participants, v.revealed, v.tally) == (1, 2, False, None)  # no split yet
    for _ in svc.reveal(teacher, session.code, "en"):
        pass
    v = svc.presenter_view(session.code, "en")
    assert v.revealed and v.reveal is not None and v.tally.answers == 1 and v.tally.fake == 1
    page = cards.presenter_side(v.answered, v.session.participants, False, False,
                                cards.reveal_card(v.reveal.verdict, v.reveal.p_fake, item.truth, None, v.tally, None,
                                                  "en"), cards.explanation_html(v.reveal.text, "en"), "en")
    assert "1 of 2 answered" in page and "data-answers='1'" in page
    for secret in ("Ann-Q7", "Bob-Z9", "ann-secret", key):
        assert secret not in page


def test_guessing_codes_through_the_projector_is_counted(svc):
    address = "address-key-of-a-guesser"
    for _ in range(svc.join_miss_rate.limit):
        with pytest.raises(UserError, match="no class session"):
            svc.presenter_view("ZZZZZZ", "en", address_key=address)
    with pytest.raises(UserError, match="Too many tries"):
        svc.presenter_view("ZZZZZZ", "en", address_key=address)
    with pytest.raises(UserError):  # a malformed code is refused with the code's rule
        svc.presenter_view("no", "en")
