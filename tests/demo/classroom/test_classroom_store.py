"""storage/classroom/ on a real database (SQLite, and PostgreSQL when configured): lesson sets,
sessions, joins, answers, reveals, tallies, owner checks, deletion, and answers surviving a restart."""

from __future__ import annotations

import hashlib
import threading

import pytest

from storage import MapIn, NotFound, PhraseSpan, Store, ValidationError
from storage.classroom import (
    CODE_ALPHABET,
    JOIN_CODE_LEN,
    MAX_ITEMS,
    MAX_REASON,
    SET_CODE_LEN,
    AnswerIn,
    ClassroomStore,
    ItemIn,
    RevealIn,
    normalize_code,
)

from .conftest import SECRET, png_bytes


def _item(seed: int, truth: str | None = "fake", **kw) -> ItemIn:
    return ItemIn(data=png_bytes(64, 48, seed), image_format="png", width=64, height=48, truth=truth, **kw)


@pytest.fixture
def teacher(store) -> str:
    return store.client_hash("classroom-teacher:tk_test")


@pytest.fixture
def other(store) -> str:
    return store.client_hash("classroom-teacher:tk_other")


@pytest.fixture
def session(cstore, teacher):
    s = cstore.create_set(teacher, "  Fakes   of the week ", [_item(1, "fake"), _item(2, "real"), _item(3, None)])
    return cstore.open_session(s.code, teacher)


def _student(store, name: str) -> str:
    return store.client_hash("classroom-student:" + name)


def test_a_set_keeps_its_pictures_byte_for_byte(cstore, teacher, store):
    items = [_item(1, "fake", source="example", caption="one"), _item(2, "real", reference="A reference.")]
    s = cstore.create_set(teacher, "Lesson", items)
    assert len(s.code) == SET_CODE_LEN and set(s.code) <= set(CODE_ALPHABET)
    assert [i.position for i in s.items] == [0, 1]
    assert [i.truth for i in s.items] == ["fake", "real"]
    assert s.items[0].source == "example" and s.items[0].caption == "one"
    assert s.items[1].reference == "A reference."
    for it, src in zip(s.items, items, strict=True):
        assert it.image_sha256 == hashlib.sha256(src.data).hexdigest()
        assert cstore.item_bytes(it.image_sha256) == src.data
        assert (store.data_dir / "classroom" / "images").is_dir()
    # codes are read the way people type them
    spaced = " ".join(s.code[i:i + 2] for i in range(0, len(s.code), 2)).lower()
    assert cstore.get_set(spaced).id == s.id
    assert [x.code for x in cstore.list_sets(teacher)] == [s.code]


def test_lesson_pictures_are_outside_the_consent_store(cstore, teacher, store):
    s = cstore.create_set(teacher, "Lesson", [_item(5)])
    store.sweep_orphans(0)  # the feedback store's sweep must leave lesson pictures alone
    assert cstore.item_bytes(s.items[0].image_sha256) is not None
    assert store.check() == []


@pytest.mark.parametrize("bad", [
    dict(title="", items=[_item(1)]),
    dict(title="x", items=[]),
    dict(title="x", items=[_item(i) for i in range(MAX_ITEMS + 1)]),
    dict(title="x", items=[ItemIn(b"", "png", 1, 1)]),
    dict(title="x", items=[ItemIn(b"x", "exe", 1, 1)]),
    dict(title="x", items=[ItemIn(b"x", "png", 1, 1, truth="maybe")]),
    dict(title="x", items=[ItemIn(b"x", "png", 1, 1, source="web")]),
    dict(title="x", items=["not an item"]),
])
def test_bad_sets_are_refused(cstore, teacher, bad):
    with pytest.raises(ValidationError):
        cstore.create_set(teacher, bad["title"], bad["items"])


@pytest.mark.parametrize("code", ["", "ABC", "ABCDEFGHJ", "ABCD0EFG", "ABCD1EFG", None, 12345678, "ÄBCDEFGH"])
def test_malformed_codes_are_refused(code):
    with pytest.raises(ValidationError):
        normalize_code(code, SET_CODE_LEN)


def test_a_session_belongs_to_its_teacher(cstore, session, teacher, other):
    assert len(session.code) == JOIN_CODE_LEN and session.state == "open" and session.position == 0
    assert cstore.teacher_session(session.code, teacher).id == session.id
    for call in (lambda: cstore.teacher_session(session.code, other),
                 lambda: cstore.set_position(session.code, other, 1),
                 lambda: cstore.reveal_item(session.code, other, session.items[0].id),
                 lambda: cstore.close_session(session.code, other),
                 lambda: cstore.teacher_rows(session.code, other),
                 lambda: cstore.delete_session(session.code, other)):
        with pytest.raises(NotFound):
            call()
    # anyone with the set code may open their own session on it
    mine = cstore.open_session(session.set_code, other)
    assert mine.code != session.code and mine.owner_hash == other and mine.set_id == session.set_id


def test_moving_and_revealing_bump_the_version(cstore, session, teacher):
    v = session.version
    s = cstore.set_position(session.code, teacher, 2)
    assert s.position == 2 and s.version == v + 1 and s.current.id == session.items[2].id
    with pytest.raises(ValidationError):
        cstore.set_position(session.code, teacher, 3)
    s = cstore.reveal_item(session.code, teacher, session.items[2].id)
    assert s.revealed == {session.items[2].id} and s.version == v + 2
    assert cstore.reveal_item(session.code, teacher, session.items[2].id).version == v + 2  # idempotent
    with pytest.raises(NotFound):
        cstore.reveal_item(session.code, teacher, 10**9)


def test_join_answer_and_change_until_the_reveal(cstore, store, session, teacher):
    ann, bob = _student(store, "ann"), _student(store, "bob")
    p1 = cstore.join(session.code, ann, "  Ann  ")
    assert p1.nickname == "Ann"
    assert cstore.join(session.code.lower(), ann, "Annie").id == p1.id  # re-join keeps the person
    cstore.join(session.code, bob, "Bob")
    assert cstore.get_session(session.code).participants == 2
    item = session.items[0]
    a = cstore.answer(session.code, ann, item.id, AnswerIn("real", 2, "looks normal"))
    a2 = cstore.answer(session.code, ann, item.id, AnswerIn("fake", 4, " the  hands "))
    assert a2.id == a.id and (a2.guess, a2.confidence, a2.reason) == ("fake", 4, "the hands")
    cstore.answer(session.code, bob, item.id, AnswerIn("real", 5))
    assert set(cstore.my_answers(session.code, ann)) == {item.id}
    assert cstore.my_answers(session.code, ann)[item.id].guess == "fake"
    t = cstore.tallies(session.code)[item.id]
    assert (t.answers, t.real, t.fake, t.correct, t.mean_confidence) == (2, 1, 1, 1, 4.5)
    assert cstore.tallies(session.code)[session.items[2].id].correct is None  # truth unknown
    rows = cstore.teacher_rows(session.code, teacher)
    assert {(r.nickname, r.guess, r.reason) for r in rows} == {("Annie", "fake", "the hands"), ("Bob", "real", None)}
    cstore.reveal_item(session.code, teacher, item.id)
    with pytest.raises(ValidationError, match="revealed"):
        cstore.answer(session.code, ann, item.id, AnswerIn("real", 1))
    cstore.answer(session.code, ann, session.items[1].id, AnswerIn("real", 3))  # others stay open


def test_answers_are_checked(cstore, store, session):
    ann = _student(store, "ann")
    with pytest.raises(NotFound):
        cstore.answer(session.code, ann, session.items[0].id, AnswerIn("fake", 3))  # not joined
    cstore.join(session.code, ann, "Ann")
    other_set = cstore.create_set(session.owner_hash, "Other", [_item(9)])
    with pytest.raises(NotFound):
        cstore.answer(session.code, ann, other_set.items[0].id, AnswerIn("fake", 3))
    for bad in (AnswerIn("maybe", 3), AnswerIn("fake", 0), AnswerIn("fake", 6), AnswerIn("fake", True),
                AnswerIn("fake", 3, "x" * (MAX_REASON + 1)), "fake"):
        with pytest.raises(ValidationError):
            cstore.answer(session.code, ann, session.items[0].id, bad)
    a = cstore.answer(session.code, ann, session.items[0].id, AnswerIn("fake", 3, "a\x00b \ud800"))
    assert "\x00" not in a.reason


@pytest.mark.parametrize("nick", ["", "   ", "x" * 41, None, "\x00\x01"])
def test_nicknames_are_checked(cstore, store, session, nick):
    with pytest.raises(ValidationError):
        cstore.join(session.code, _student(store, "n"), nick)


def test_a_closed_session_takes_no_new_students_or_answers(cstore, store, session, teacher):
    ann = _student(store, "ann")
    cstore.join(session.code, ann, "Ann")
    cstore.close_session(session.code, teacher)
    assert cstore.join(session.code, ann, "Ann").nickname == "Ann"  # a member may come back
    with pytest.raises(ValidationError, match="closed"):
        cstore.join(session.code, _student(store, "late"), "Late")
    with pytest.raises(ValidationError, match="closed"):
        cstore.answer(session.code, ann, session.items[0].id, AnswerIn("fake", 3))
    with pytest.raises(NotFound):
        cstore.join("ZZZZZZ", ann, "Ann")


def test_a_reveal_is_kept_with_its_maps(cstore, session):
    grid = [[(r * 24 + c) / 577.0 - 0.5 for c in range(24)] for r in range(24)]
    text = "This is a fake image. The sky shows colour banding."
    reveal = RevealIn("toy", text, "fake", 0.91, [PhraseSpan("This is a fake image.", 0, 21),
                                                  PhraseSpan("The sky shows colour banding.", 22, 51)],
                      [MapIn(1, "gradient", grid, (0, 0, 64, 48), score=-1.5, reliance=0.4)], prediction_id=None)
    item = session.items[0]
    cstore.save_reveal(item.id, reveal)
    got = cstore.get_session(session.code).items[0].reveal
    assert (got.model_id, got.text, got.verdict, got.p_fake) == ("toy", text, "fake", 0.91)
    assert [p.text for p in got.phrases] == ["This is a fake image.", "The sky shows colour banding."]
    [m] = got.maps
    assert m.phrase_index == 1 and m.crop_box == (0, 0, 64, 48) and m.reliance == 0.4
    assert all(abs(a - b) < 1e-3 for ra, rb in zip(m.grid, grid, strict=True) for a, b in zip(ra, rb, strict=True))
    # a new answer (another model, say) replaces the old one for every later read
    cstore.save_reveal(item.id, RevealIn("other-model", "This is a real image.", "real", 0.1, []))
    again = cstore.get_session(session.code).items[0].reveal
    assert (again.model_id, again.verdict, again.maps) == ("other-model", "real", ())
    assert ClassroomStore(cstore.store).get_set(session.set_code).items[0].reveal.model_id == "other-model"
    with pytest.raises(NotFound):
        cstore.save_reveal(10**9, reveal)
    with pytest.raises(ValidationError):
        cstore.save_reveal(item.id, RevealIn("toy", text, "maybe", None, []))


def test_deleting_a_session_and_a_set(cstore, store, session, teacher, other):
    ann = _student(store, "ann")
    cstore.join(session.code, ann, "Ann")
    cstore.answer(session.code, ann, session.items[0].id, AnswerIn("fake", 3, "words"))
    assert cstore.delete_session(session.code, teacher) == 1
    assert cstore.get_session(session.code) is None
    shared = session.items[0]
    keep = cstore.create_set(other, "Shares a picture", [_item(1)])  # same bytes as item 0
    s2 = cstore.open_session(session.set_code, teacher)
    cstore.join(s2.code, ann, "Ann")
    cstore.answer(s2.code, ann, shared.id, AnswerIn("real", 2))
    assert cstore.delete_set(session.set_code, other) is False  # not theirs
    assert cstore.delete_set(session.set_code, teacher) is True
    assert cstore.get_set(session.set_code) is None and cstore.get_session(s2.code) is None
    assert cstore.item_bytes(shared.image_sha256) is not None  # still used by the other set
    assert cstore.item_bytes(session.items[1].image_sha256) is None  # used by nothing any more
    assert cstore.get_set(keep.code) is not None


def test_answers_survive_a_restart(db_url, tmp_path):
    data = tmp_path / "restart-data"
    with Store.open(db_url, data, secret=SECRET) as store:
        cs = ClassroomStore(store)
        t = store.client_hash("classroom-teacher:tk")
        s = cs.open_session(cs.create_set(t, "L", [_item(1)]).code, t)
        ann = store.client_hash("classroom-student:ann")
        cs.join(s.code, ann, "Ann")
        cs.answer(s.code, ann, s.items[0].id, AnswerIn("fake", 5, "the grain"))
    with Store.open(db_url, data, secret=SECRET) as store:
        cs = ClassroomStore(store)
        ann = store.client_hash("classroom-student:ann")
        assert cs.participant(s.code, ann).nickname == "Ann"
        a = cs.my_answers(s.code, ann)[s.items[0].id]
        assert (a.guess, a.confidence, a.reason) == ("fake", 5, "the grain")
        assert cs.item_bytes(s.items[0].image_sha256) is not None


def test_a_class_answering_at_once(cstore, store, session):
    item = session.items[0]
    students = [_student(store, f"s{i}") for i in range(30)]
    errors: list[BaseException] = []

    def run(i: int, ch: str) -> None:
        try:
            cstore.join(session.code, ch, f"Student {i}")
            cstore.answer(session.code, ch, item.id, AnswerIn("fake" if i % 3 else "real", 1 + i % 5, f"r{i}"))
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, ch)) for i, ch in enumerate(students)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors[:3]
    t = cstore.tallies(session.code)[item.id]
    assert (t.answers, t.real, t.fake) == (30, 10, 20)
