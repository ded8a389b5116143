"""Classroom HTML fragments (demo/classroom/cards.py): escaped, counts without names, clue marks
and cards that match the glossary, in the page's language."""

from __future__ import annotations

from datetime import UTC, datetime

from demo.classroom import cards
from demo.i18n import tr
from demo.i18n.glossary import GLOSSARY, entry
from storage.classroom import AnswerOut, Tally

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_votes_are_counts_and_shares_only():
    html = cards.votes_html(Tally(7, answers=4, real=1, fake=3, mean_confidence=3.5, correct=3), "en")
    assert "data-answers='4'" in html and "data-real='1'" in html and "data-fake='3'" in html
    assert "25%" in html and "75%" in html and tr("cls_votes_conf", "en", conf="3.5") in html
    assert cards.votes_html(None, "zh-CN").count(tr("cls_votes_none", "zh-CN")) == 1


def test_the_reveal_card_tells_the_student_how_they_did():
    mine = AnswerOut(1, 7, "fake", 4, "secret words", NOW, NOW)
    html = cards.reveal_card("fake", 0.9, "real", None, None, mine, "en")
    assert "data-verdict='fake'" in html and "data-truth='real'" in html
    assert tr("cls_you_wrong", "en") in html and "secret words" not in html  # their words are not repeated
    assert tr("cls_p_fake", "en", pct=90) in html
    right = cards.reveal_card("fake", None, "fake", None, None, mine, "zh-CN")
    assert tr("cls_you_right", "zh-CN") in right and tr("truth_fake", "zh-CN") in right
    unknown = cards.reveal_card(None, None, None, None, None, None, "en", streaming=True)
    assert tr("cls_model_thinking", "en") in unknown and tr("truth_unknown", "en") in unknown


def test_everything_from_outside_is_escaped():
    evil = "<img src=x onerror=alert(1)> the skin is smooth"
    for html in (cards.explanation_html(evil, "en"), cards.reveal_card("real", 0.1, None, evil, None, None, "en")):
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    banner = cards.join_banner("<i>X</i>", "http://h/'><script>", "en")
    assert "<i>" not in banner and "<script>" not in banner and "&lt;i&gt;X" in banner and "&#x27;&gt;" in banner
    assert "<mark data-clue='over_smooth'>smooth</mark>" in cards.explanation_html(evil, "en")


def test_clue_cards_follow_the_phrase():
    html = cards.clue_cards("Colour banding and a checkerboard pattern.", "zh-CN")
    assert "data-count='2'" in html
    assert entry("banding", "zh-CN").title in html and entry("checkerboard", "zh-CN").title in html
    assert "id='clue-" not in html  # only the glossary tab's copies carry the page-wide ids
    assert tr("cls_no_clues", "en") in cards.clue_cards("This is a fake image.", "en")


def test_the_glossary_lists_every_entry_once_with_its_anchor():
    html = cards.glossary_html("en")
    for key in GLOSSARY:
        assert html.count(f"id='clue-{key}'") == 1
    assert "lang='zh-CN'" in cards.glossary_html("zh")
