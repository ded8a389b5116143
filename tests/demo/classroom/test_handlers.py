"""Classroom handlers (demo/classroom/handlers.py) on the real service: the page context, polling that
sends nothing when nothing changed and never overwrites what a student is typing, and errors as
gr.Error in the page's language."""

from __future__ import annotations

import gradio as gr
import pandas as pd
import pytest

from demo.classroom.handlers import STUDENT_OUTPUTS, TEACHER_OUTPUTS, ClassroomHandlers, parse_context
from demo.i18n import tr
from demo.service.classroom import example_files

SKIP = gr.skip()
ZH = "zh-CN|http://127.0.0.1:7860/classroom"
EN = "en|http://127.0.0.1:7860/classroom"


@pytest.mark.parametrize("ctx,out", [
    ("zh-CN|http://h:1/classroom?code=X#y", ("zh-CN", "http://h:1/classroom")),
    ("en-US|https://x.hf.space/classroom", ("en", "https://x.hf.space/classroom")),
    ("zh|javascript:alert(1)", ("zh-CN", "")),
    ("", ("en", "")), (None, ("en", "")), (42, ("en", "")), ("fr", ("en", "")),
])
def test_page_context(ctx, out):
    assert parse_context(ctx) == out


@pytest.fixture
def h(svc):
    return ClassroomHandlers(svc)


@pytest.fixture
def started(h, svc):
    """A teacher's session started through the handlers, in Chinese."""
    key, _, status, remembered, _, box, text = h.new_key(ZH)
    assert status == tr("cls_key_new", "zh-CN") and key not in status and remembered == key
    assert box == gr.update(visible=True) and text == gr.update(value=key)  # shown once, in its copy box
    names = [p.name for p in example_files()][:2]
    out = h.create_set(ZH, key, "", "课程", [], names)
    set_code = out[-2]
    assert out[9] == tr("cls_set_saved", "zh-CN", code=set_code, n=2, title="课程")
    assert out[2:6] == (SKIP,) * 4  # a known key is not announced or shown again
    assert out[-1] == gr.update(open=False)  # the set builder folds away once there is a set
    out = h.start_session(ZH, key, "", set_code)
    code = out[-1]["code"]
    assert out[4:6] == (gr.update(visible=False), gr.update(value=""))  # the key leaves the page
    assert out[2] == "" and out[6] == gr.update(open=False)  # its notice too; the start form folds
    assert out[9] == gr.update(visible=True)
    return key, code, out


def test_a_new_teacher_gets_a_key_once(h):
    out = h.create_set(EN, None, "", "Lesson", [], [p.name for p in example_files()][:1])
    key = out[0]
    assert out[1] == key and out[3] == key and out[2] == tr("cls_key_new", "en") and key not in out[2]
    assert out[4:6] == (gr.update(visible=True), gr.update(value=key))
    refreshed = h.refresh_language(ZH, None, None, key)
    assert refreshed[4] == tr("cls_key_new", "zh-CN") and refreshed[5:] == ("", "", "")
    assert key not in "".join(str(v) for v in refreshed)  # a language switch does not show it again
    # shown again only on request, and only a well-formed key
    assert h.show_key(EN, key, "") == (gr.update(visible=True), gr.update(value=key))
    assert h.hide_key() == (gr.update(visible=False), gr.update(value=""))
    for store, box in ((None, ""), ("not-a-key", "")):
        with pytest.raises(gr.Error):
            h.show_key(EN, store, box)


def test_teacher_outputs_are_translated(started):
    key, code, out = started
    teacher = dict(zip(TEACHER_OUTPUTS, out[11:], strict=True))
    assert f"data-code='{code}'" in teacher["t_banner"] and tr("cls_banner_join", "zh-CN") in teacher["t_banner"]
    assert isinstance(teacher["t_results"], pd.DataFrame)
    assert list(teacher["t_results"].columns)[:3] == [tr("cls_col_picture", "zh-CN"), tr("cls_col_caption", "zh-CN"),
                                                       tr("cls_col_truth", "zh-CN")]
    assert teacher["t_count"].startswith(tr("cls_count", "zh-CN", answered=0, joined=0))


def test_student_polling_is_quiet_and_keeps_the_form(h, svc, started):
    _, code, _ = started
    token = svc.app.new_visitor_token()
    out = h.join(ZH, code, "小明", token)
    assert out[0] == tr("cls_joined", "zh-CN", nick="小明", title="课程")
    assert out[3] == token
    state = out[4]
    first = dict(zip(("st_state", *STUDENT_OUTPUTS), out[4:], strict=True))
    assert first["st_image"] is not None and first["st_form"] == gr.update(visible=True)
    assert first["st_guess"] == gr.update(value=None) and first["st_reveal"] == ""
    # nothing changed: every output is skipped, so nothing the student typed is overwritten
    assert all(v == SKIP for v in h.student_poll(ZH, state, token, None))
    # the student's own answer changes what they see, but not the form they are filling in
    assert h.answer(ZH, state, token, "fake", 4, "手指") == tr("cls_answer_saved", "zh-CN",
                                                             guess=tr("guess_fake", "zh-CN"), conf=4)
    polled = dict(zip(("st_state", *STUDENT_OUTPUTS), h.student_poll(ZH, state, token, None), strict=True))
    assert polled["st_answer_status"].startswith(tr("cls_answer_saved", "zh-CN", guess="x", conf=4)[:5])
    for field in ("st_image", "st_guess", "st_confidence", "st_reason"):
        assert polled[field] == SKIP, field
    # another student is a stranger: a poll with their token and this state shows nothing of ours
    stranger = svc.app.new_visitor_token()
    assert all(v == SKIP for v in h.student_poll(ZH, polled["st_state"], stranger, None))


def test_joining_before_the_page_has_its_token(h, started):
    _, code, _ = started
    out = h.join(EN, code, "Early", None)
    assert h.svc.app.valid_token(out[3])  # a token is made, and kept in the browser
    assert h.svc.student_view(out[3], code, "en").participant.nickname == "Early"


def test_errors_reach_the_page_in_its_language(h, svc):
    with pytest.raises(gr.Error) as err:
        h.join(ZH, "ABC", "x", svc.app.new_visitor_token())
    assert err.value.message == tr("cls_err_join_code", "zh-CN", n=6)
    with pytest.raises(gr.Error) as err:
        h.create_set(EN, "not-a-key", "", "t", [], [])
    assert err.value.message == tr("cls_err_key", "en")
    with pytest.raises(gr.Error) as err:
        h.start_session(EN, None, None, "ZZZZZZZZ")
    assert err.value.message == tr("cls_err_no_set", "en")


def test_the_teacher_poll_redraws_after_a_reveal(h, svc, started):
    key, code, out = started
    state = out[-1]
    assert all(v == SKIP for v in h.teacher_poll(EN, state, key, ""))
    steps = list(h.reveal(EN, state, key, ""))
    final = steps[-1]
    assert final[-1]["sig"] is None  # the next poll redraws the class results
    redrawn = dict(zip(TEACHER_OUTPUTS, h.teacher_poll(EN, final[-1], key, ""), strict=True))
    assert tr("verdict_" + svc.teacher_view(svc.teacher(key, "en"), code, "en").item.reveal.verdict, "en") in \
        list(redrawn["t_results"].iloc[0])
