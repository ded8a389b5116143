"""The classroom service (demo/service/classroom) with the real model, maps and store: a lesson from
building to results, what each person may see, exports and handouts, and refusals in words."""

from __future__ import annotations

import csv
import io

import pytest

from demo.i18n import tr
from demo.service import UserError
from demo.service.classroom import Classroom, csv_cell, example_files, example_truth

from .conftest import png_bytes


@pytest.fixture
def lesson(svc: Classroom, tmp_path):
    """A teacher, a set (two examples + an upload) and an open session."""
    key = svc.new_teacher_key()
    teacher = svc.teacher(key, "en")
    upload = tmp_path / "my-photo.png"
    upload.write_bytes(png_bytes(420, 360, 7))
    items, problems = svc.items_from_files([str(upload)], "real", "en")
    assert not problems
    names = [p.name for p in example_files()][:2]
    items += svc.items_from_examples(names, "en")
    s = svc.create_set(teacher, "  Week 3  ", items, "en")
    session = svc.start_session(teacher, s.code, "en")
    return teacher, s, session


def _token(svc: Classroom) -> str:
    return svc.app.new_visitor_token()


def test_a_lesson_from_guess_to_results(svc, lesson):
    teacher, lset, session = lesson
    assert lset.title == "Week 3" and [i.truth for i in lset.items][0] == "real"
    ann, bob = _token(svc), _token(svc)
    va = svc.join(ann, session.code.lower(), "Ann", "en")
    svc.join(bob, session.code, "Bob", "en")
    item = va.item
    assert va.participant.nickname == "Ann" and item.position == 0
    assert not va.revealed and va.reveal is None and va.tally is None  # nothing before the reveal
    svc.answer(ann, session.code, item.id, "fake", 4, "the  grain looks   painted", "en")
    svc.answer(bob, session.code, item.id, "real", "2", "=cmd|' /C calc'!A0", "en")
    view = svc.teacher_view(teacher, session.code, "en")
    assert {(r.nickname, r.reason) for r in view.rows} == {("Ann", "the grain looks painted"),
                                                          ("Bob", "=cmd|' /C calc'!A0")}

    stages = [rv.stage for rv in svc.reveal(teacher, session.code, "en")]
    assert stages[0] == "text" and stages[-1] == "done" and "maps" in stages
    with pytest.raises(UserError, match=tr("cls_err_revealed", "zh-CN")):
        svc.answer(ann, session.code, item.id, "real", 3, None, "zh-CN")

    va = svc.student_view(ann, session.code, "en")
    assert va.revealed and va.reveal is not None and va.live is None
    assert va.reveal.model_id == svc.app.model_id and va.reveal.text
    assert va.reveal.maps, "the phrase maps come with the reveal"
    assert (va.tally.answers, va.tally.real, va.tally.fake, va.tally.correct) == (2, 1, 1, 1)
    assert va.answer.guess == "fake"
    # a student's view holds their own answer and counts: never another's nickname or words
    dumped = repr(va)
    assert "Bob" not in dumped and "calc" not in dumped and "Ann" in dumped

    rows = svc.results_rows(svc.teacher_view(teacher, session.code, "en"), "en")
    assert rows[0][:3] == [1, "my-photo.png", tr("truth_real", "en")] and rows[0][4] == 2
    assert rows[0][7] == 50  # half the class was right
    summary = svc.summary(svc.teacher_view(teacher, session.code, "en"))
    assert summary["students"] == 2 and summary["class_total"] == 2 and summary["model_total"] == 1

    moved = svc.move(teacher, session.code, 1, "en")
    assert moved.position == 1
    assert svc.student_view(bob, session.code, "en").item.position == 1
    assert svc.move(teacher, session.code, 5, "en").position == len(lset.items) - 1


def test_a_reveal_is_computed_once(svc, lesson):
    teacher, _, session = lesson
    item = session.items[0]
    before = svc.app.store.stats().predictions
    list(svc.model_answer(teacher, item, "en"))
    mid = svc.app.store.stats().predictions
    fresh = svc.teacher_view(teacher, session.code, "en").item
    again = list(svc.model_answer(teacher, fresh, "en"))
    assert mid == before + 1 and svc.app.store.stats().predictions == mid
    assert [rv.stage for rv in again] == ["done"] and again[0].maps
    assert not svc.teacher_view(teacher, session.code, "en").session.revealed  # computing is not revealing


def test_csv_export_for_the_teacher(svc, lesson):
    teacher, _, session = lesson
    ann = _token(svc)
    svc.join(ann, session.code, "安妮", "zh-CN")
    svc.answer(ann, session.code, session.items[0].id, "fake", 5, "=HYPERLINK(\"http://x\")", "en")
    path = svc.export_csv(teacher, session.code, "en")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # spreadsheets read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 1
    r = rows[0]
    assert (r["nickname"], r["answer"], r["confidence"], r["truth"], r["correct"]) == ("安妮", "fake", "5", "real", "0")
    assert r["reason"].startswith("'=HYPERLINK")  # never run as a formula
    other = svc.teacher(svc.new_teacher_key(), "en")
    with pytest.raises(UserError, match=tr("cls_err_not_yours", "en")):
        svc.export_csv(other, session.code, "en")


def test_handouts_for_the_teacher(svc, lesson):
    teacher, _, session = lesson
    pdf, html, note = svc.handout(teacher, session.code, "current", "en")
    assert pdf is not None and pdf.read_bytes().startswith(b"%PDF-") and note == ""
    page = html.read_text(encoding="utf-8")
    assert "Week 3" in page and tr("ho_key_phrases", "en") in page
    svc.move(teacher, session.code, 1, "en")
    _, html_zh, _ = svc.handout(teacher, session.code, "all", "zh-CN")  # runs the model on the rest
    page_zh = html_zh.read_text(encoding="utf-8")
    assert page_zh.count(tr("ho_caveat", "zh-CN")) == len(session.items)
    assert page_zh.count("break-after: page") == len(session.items) - 1


@pytest.mark.parametrize("call,key,values", [
    (lambda s, t: s.join(t, "ABC", "Ann", "zh-CN"), "cls_err_join_code", {"n": 6}),
    (lambda s, t: s.join(t, "ZZZZZZ", "Ann", "zh-CN"), "cls_err_no_session", {}),
    (lambda s, t: s.join(t, "ZZZZZZ", "   ", "zh-CN"), "cls_err_nickname", {}),
    (lambda s, t: s.join(t, "ZZZZZZ", "x" * 41, "zh-CN"), "cls_err_nickname_long", {"n": 40}),
    (lambda s, t: s.join("not-a-token", "ZZZZZZ", "Ann", "zh-CN"), "cls_err_browser", {}),
    (lambda s, t: s.student_view(t, "ZZZZZZ", "zh-CN"), "cls_err_not_joined", {}),
    (lambda s, t: s.teacher("short", "zh-CN"), "cls_err_key", {}),
    (lambda s, t: s.lesson_set("nope", "zh-CN"), "cls_err_set_code", {"n": 8}),
    (lambda s, t: s.lesson_set("ZZZZZZZZ", "zh-CN"), "cls_err_no_set", {}),
    (lambda s, t: s.items_from_examples(["../../etc/passwd"], "zh-CN"), "cls_err_example",
     {"name": "../../etc/passwd"}),
])
def test_refusals_are_sentences_in_the_pages_language(svc, call, key, values):
    with pytest.raises(UserError) as err:
        call(svc, _token(svc))
    assert str(err.value) == tr(key, "zh-CN", **values)


def test_answers_are_checked_before_the_store(svc, lesson):
    _, _, session = lesson
    ann = _token(svc)
    svc.join(ann, session.code, "Ann", "en")
    iid = session.items[0].id
    for guess, conf, reason, key in (("maybe", 3, None, "cls_err_guess"), ("fake", 9, None, "cls_err_confidence"),
                                     ("fake", "x", None, "cls_err_confidence"),
                                     ("fake", 3, "w" * 300, "cls_err_reason_long")):
        with pytest.raises(UserError, match=tr(key, "en", n=280)[:12]):
            svc.answer(ann, session.code, iid, guess, conf, reason, "en")


def test_uploads_that_are_not_pictures_are_named(svc, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("<html>not a picture</html>")
    good = tmp_path / "ok.png"
    good.write_bytes(png_bytes(300, 300, 1))
    items, problems = svc.items_from_files([str(bad), str(good), str(tmp_path / "gone.png")], None, "en")
    assert len(items) == 1 and items[0].truth is None and items[0].caption == "ok.png"
    assert len(problems) == 2 and problems[0].startswith("notes.png: ")
    assert problems[1] == f"gone.png: {tr('cls_err_unreadable', 'en')}"


def test_example_truth_comes_from_the_documented_names():
    assert example_truth("toy-fake-two-artifacts.png") == "fake"
    assert example_truth("toy-real-wide.png") == "real"
    assert example_truth("holiday.png") is None and example_truth("fakesy.png") is None
    for p in example_files():
        assert example_truth(p.name) in ("real", "fake")


def test_joining_is_rate_limited(svc, lesson):
    _, _, session = lesson
    t = _token(svc)
    for _ in range(30):
        svc.join(t, session.code, "Ann", "en")
    with pytest.raises(UserError, match="wait"):
        svc.join(t, session.code, "Ann", "en")


@pytest.mark.parametrize("value,out", [("=1+1", "'=1+1"), ("+x", "'+x"), ("-2", "'-2"), ("@a", "'@a"),
                                       ("ok", "ok"), (None, ""), (3, "3")])
def test_csv_cells(value, out):
    assert csv_cell(value) == out


def test_a_teacher_deletes_a_session_after_closing_it(svc, lesson):
    teacher, lset, session = lesson
    ann = _token(svc)
    svc.join(ann, session.code, "Ann", "en")
    svc.answer(ann, session.code, session.items[0].id, "fake", 3, "words", "en")
    with pytest.raises(UserError, match=tr("cls_err_close_first", "en")):
        svc.delete_session(teacher, session.code, "en")
    svc.close_session(teacher, session.code, "en")
    assert svc.delete_session(teacher, session.code, "en") == 1
    with pytest.raises(UserError, match=tr("cls_err_not_joined", "en")):
        svc.student_view(ann, session.code, "en")
    assert svc.lesson_set(lset.code, "en").items  # the set stays for the next class


def test_guessing_class_codes_from_one_address_is_stopped(svc, lesson):
    """Issue 14.3: 300 class-code guesses went through with a new browser token each time. Wrong codes
    now count against the address, whatever token or session carries them."""
    _, _, session = lesson
    address = svc.app.visitor(None, "join", "198.51.100.7").address_key
    refused = 0
    for i in range(40):
        try:
            svc.join(_token(svc), "ZZZZ" + "ABCDEFGH"[i % 8] + "JKMNPQRS"[i // 8], "Guess", "en", address_key=address)
        except UserError as exc:
            refused += "wait" in str(exc)
    assert refused == 10  # 30 wrong codes answered "no such class", then only "please wait"
    with pytest.raises(UserError, match="wait"):  # even the right code, from that address, for now
        svc.join(_token(svc), session.code, "Real", "en", address_key=address)
    elsewhere = svc.app.visitor(None, "join", "198.51.100.8").address_key
    assert svc.join(_token(svc), session.code, "Ann", "en", address_key=elsewhere).participant.nickname == "Ann"
