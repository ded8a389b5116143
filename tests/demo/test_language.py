"""Which language a request gets, and the texts made in it: language selection (cookie, then
Accept-Language), the active language of one handler call (also across a generator's steps, which
Gradio runs in worker threads), chips with glossary names, the verdict card, the Explorer in words."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import anyio
import pytest

from demo import cards, explorer_view
from demo.i18n import EN, LANG_COOKIE, accepted, current, pick, request_language, supported, t, tr, using
from demo.language import localized

ZH = "zh-CN"


@pytest.mark.parametrize(("header", "expected"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", ["zh-CN", "zh", "en"]),
    ("en;q=0.2, zh", ["zh", "en"]),  # q-values first, then the order given
    ("fr, *;q=0.5, de;q=0", ["fr"]),  # "*" and q=0 mean nothing to pick
    ("zh;q=abc, en", ["en"]),  # a malformed q drops its entry, never an error
    (None, []),
])
def test_accept_language_is_read_by_preference(header, expected):
    assert accepted(header) == expected


@pytest.mark.parametrize(("choice", "header", "expected"), [
    (None, "zh-CN,zh;q=0.9,en;q=0.8", ZH),
    ("en", "zh-CN", "en"),  # the page's own choice wins over the browser's
    ("zh-Hans-CN", "en-US", ZH),
    ("klingon", "de-DE, zh-SG;q=0.4", ZH),  # an unknown choice is ignored; the first language we have
    (None, "fr-FR, de;q=0.8", "en"),
    (None, None, "en"),
    ("x" * 5000, "y" * 5000, "en"),
])
def test_pick(choice, header, expected):
    assert pick(choice, header) == expected


def test_supported_says_none_for_languages_we_lack():
    assert supported("en-GB") == "en" and supported("zh") == ZH
    assert supported("fr") is None and supported("") is None and supported(None) is None


def test_request_language_reads_the_cookie_then_the_header():
    req = SimpleNamespace(cookies={LANG_COOKIE: "en"}, headers={"accept-language": "zh-CN"})
    assert request_language(req) == "en"
    assert request_language(SimpleNamespace(cookies={}, headers={"accept-language": "zh-CN"})) == ZH
    assert request_language(None) == "en"


def test_t_speaks_the_active_language_only_inside_using():
    assert current() == "en" and t("status_ready") == EN["status_ready"]
    with using(ZH):
        assert t("status_ready") == tr("status_ready", ZH) != EN["status_ready"]
        with using("en"):
            assert t("status_ready") == EN["status_ready"]
        assert current() == ZH
    assert current() == "en"


def test_a_localized_generator_keeps_its_language_across_worker_threads():
    """Gradio resumes a generator handler in a worker thread at each step, each time in a fresh copy
    of the event loop's context: the language must be set again for every step."""
    request = SimpleNamespace(cookies={}, headers={"accept-language": "zh-CN"})
    seen: list[tuple[str, int]] = []

    @localized
    def handler(n: int = 3, request=None):
        for _ in range(n):
            seen.append((t("status_ready"), threading.get_ident()))
            yield current()

    async def drive() -> list[str]:
        it = handler(3, request=request)
        out = []
        while True:
            item = await anyio.to_thread.run_sync(next, it, None)
            if item is None:
                return out
            out.append(item)

    assert anyio.run(drive) == [ZH] * 3
    assert {text for text, _ in seen} == {tr("status_ready", ZH)}
    assert current() == "en"


def test_a_localized_plain_handler_and_its_errors():
    @localized
    def handler(request=None):
        raise ValueError(t("err_no_image"))

    with pytest.raises(ValueError, match=tr("err_no_image", ZH)):
        handler(request=SimpleNamespace(cookies={LANG_COOKIE: ZH}, headers={}))


def test_chips_name_the_glossary_clue_beside_the_model_words():
    phrase = "The upper left region is covered in coloured speckles that do not belong to the scene."
    assert cards.chip_label(phrase) == f"{phrase} · clue: Coloured speckle noise"
    with using(ZH):
        label = cards.chip_label(phrase, prior=True)
    assert label.startswith(phrase) and "线索：彩色斑点噪声" in label and label.endswith(tr("chip_prior", ZH, text=""))
    assert cards.chip_label("This is a fake image.") == "This is a fake image."  # no clue, no name


def test_the_verdict_card_has_a_screen_reader_label_in_the_language():
    with using(ZH):
        card = cards.verdict_card("fake", 0.873)
    assert f"aria-label='{tr('verdict_aria', ZH, label=tr('verdict_label_fake', ZH), prob=tr('verdict_meter_aria', ZH, pct='87%'))}'" in card


def test_the_toy_warning_is_the_detectors_own_sentence_and_is_translated():
    from explain.model.detector import TOY_WARNING

    assert EN["toy_warning"] == TOY_WARNING  # the banner finds it word for word to translate it
    with using(ZH):
        banner = cards.model_banner("toy", None, "Apache-2.0", "Serving the toy model because x. " + TOY_WARNING)
    assert tr("toy_warning", ZH) in banner and TOY_WARNING not in banner


def test_evidence_in_chinese_names_the_kind_and_marks_the_files_english():
    finding = {"kind": "camera", "strength": "weak", "points_to": "camera", "title": "Camera <b>",
               "meaning": "A camera wrote this."}
    with using(ZH):
        html = cards.evidence_panel({"findings": [finding]})
    assert tr("gl_camera_title", ZH) in html and "<span lang='en'>A camera wrote this.</span>" in html
    assert "Camera &lt;b&gt;" in html and "<b>Camera <b>" not in html


def test_the_explorer_table_reads_in_words():
    row = {"prediction": 7, "when": "2026-01-02 03:04", "verdict": "fake", "p_fake": 0.873,
           "visitor says": "wrong", "true label": "real", "category": "human", "disputed": True,
           "review": "pending", "explanation": "This is a fake image."}
    frame = explorer_view.table([row, {**row, "p_fake": None, "disputed": False, "visitor says": "",
                                       "true label": "", "category": "", "review": ""}])
    assert list(frame.columns)[:4] == ["No.", "When", "Model said", "Chance of fake"]
    first = frame.iloc[0].tolist()
    assert first == [7, "2026-01-02 03:04", "AI-generated", "87%", "verdict wrong", "real", "person", "yes",
                     "waiting", "This is a fake image."]
    assert frame.iloc[1].tolist()[3:9] == ["", "", "", "", "no", ""]
    with using(ZH):
        zh = explorer_view.table([row])
    assert list(zh.columns)[3] == "假图概率" and zh.iloc[0].tolist()[7] == "是"


def test_feedback_card_is_readable_escaped_and_pseudonymous():
    fb = SimpleNamespace(id=3, client_hash="a1b2c3d4e5f6" * 5, verdict_correct=False, true_label="real",
                         phrase_votes={0: "agree", 2: "disagree", 3: "disagree"}, category="doc",
                         corrected_explanation="<script>alert(1)</script>", comment=None, consent=True,
                         review_state="accepted", reviewed_by="token:admin")
    html = explorer_view.feedback_card(fb)
    for text in ("Feedback #3 from visitor a1b2c3d4", "The verdict was wrong.", "The picture really is: real.",
                 "Agrees with phrase 1.", "Disagrees with phrase 3, 4.", "Category: document.",
                 "&lt;script&gt;alert(1)&lt;/script&gt;", "Review: accepted (by token:admin)"):
        assert text in html, text
    assert "<script>" not in html and fb.client_hash not in html
    assert tr("fbv_none", "en") in explorer_view.feedback_card(None)


def test_every_intake_refusal_has_its_kind_translated():
    """A refused upload in Chinese: what kind of problem, in Chinese, then the intake's own English
    sentence with its numbers. Every code explain/intake raises has its translation."""
    import re
    from pathlib import Path

    from demo.service.explaining import refusal
    from explain.intake import ImageRejected

    source = "\n".join(p.read_text() for p in (Path(__file__).parents[2] / "explain" / "intake").glob("*.py"))
    codes = set(re.findall(r"ImageRejected\(\s*\"([a-z_]+)\"", source))
    assert {"empty", "not_an_image", "too_large", "aspect_ratio"} <= codes
    assert not [c for c in codes if f"intake_{c}" not in EN]
    exc = ImageRejected("too_large", "The file is 30 MB and the limit is 20 MB.")
    assert refusal(exc) == str(exc)  # English: the intake's sentence as it is
    with using(ZH):
        text = refusal(exc)
    assert text.startswith(tr("intake_too_large", ZH)) and text.endswith(str(exc))


def test_progress_and_map_words_follow_the_visitors_language():
    """The maps' status line, hover sentence and stream estimate speak the language of the call
    (they were English on a Chinese page: their `lang` defaulted to "en")."""
    from demo.service.mapscale import hover_text
    from demo.service.progress import WorkProgress, progress_text, stream_text

    p = WorkProgress("occlusion", fraction=0.25, done=144, total=576, elapsed_s=10.0, eta_s=30.0)
    english = (progress_text(p), hover_text(0.12, "strong", "checkerboard"), stream_text(10, 2.0, 96))
    with using("zh-CN"):
        chinese = (progress_text(p), hover_text(0.12, "strong", "checkerboard"), stream_text(10, 2.0, 96))
    for en_text, zh_text in zip(english, chinese, strict=True):
        assert en_text != zh_text and any("\u4e00" <= ch <= "\u9fff" for ch in zh_text), zh_text
    assert "576" in chinese[0] and "checkerboard" in chinese[1]
