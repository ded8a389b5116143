"""The clue glossary (demo/i18n/glossary.py: entries and their texts; explain/glossary.py: matching): complete,
matched by the toy model's own sentences, includes the provenance evidence kinds, translated, and safe on any
input."""

from __future__ import annotations

import re

import pytest

from demo.i18n.glossary import GLOSSARY, TRANSLATIONS, entry
from explain import glossary
from explain.glossary import TOY_KIND_CLUES, clue_spans, clues_in
from explain.provenance import GLOSSARY as PROVENANCE_GLOSSARY
from explain.toy import texts

ISSUE_KINDS = {  # the artifact kinds the issue names, and a sentence of the kind FakeVLM writes
    "over_smooth": "The person's skin looks overly smooth and waxy.",
    "lighting": "The lighting on the face does not match the shadows in the background.",
    "warped_text": "The text on the sign is garbled and illegible.",
    "checkerboard": "A checkerboard pattern from upsampling covers the sky.",
    "repeated_texture": "The bricks repeat in an identical pattern.",
    "banding": "Colour banding is visible in the sky.",
    "blocking": "Blocky compression artifacts appear around the edges of the car.",
}


def test_every_entry_is_complete():
    assert len(GLOSSARY) >= 20
    for key, clue in GLOSSARY.items():
        assert clue.key == key and re.fullmatch(r"[a-z_0-9]+", key)
        assert clue.group in ("pixels", "file")
        for text in (clue.title, clue.look_for, clue.why):
            assert isinstance(text, str) and len(text.strip()) > 3, (key, text)
        assert clue.patterns, f"{key} has no patterns: a phrase could never link to it"
        for p in clue.patterns:
            re.compile(p)


@pytest.mark.parametrize("key,sentence", sorted(ISSUE_KINDS.items()))
def test_the_issues_artifact_kinds_are_found(key, sentence):
    assert key in clues_in(sentence)


@pytest.mark.parametrize("kind", texts.KINDS)
def test_every_toy_sentence_links_to_its_kind(kind):
    clue = TOY_KIND_CLUES[kind]
    assert clue in GLOSSARY
    for template in texts.PHRASINGS[kind]:
        for region in texts.REGIONS:
            sentence = template.format(r=region)
            assert clue in clues_in(sentence), sentence


def test_toy_mapping_covers_exactly_the_toy_kinds():
    assert set(TOY_KIND_CLUES) == set(texts.KINDS)


def test_toy_real_sentences_link_no_artifact_of_a_fake():
    artifact_clues = set(TOY_KIND_CLUES.values())
    for sentence in texts.REAL_PHRASINGS:
        assert not artifact_clues & set(clues_in(sentence)), sentence


def test_the_verdict_sentence_links_nothing():
    assert clues_in("This is a fake image.") == []
    assert clues_in("This is a real image.") == []


def test_provenance_kinds_are_included_with_their_own_text():
    for kind, e in PROVENANCE_GLOSSARY.items():
        clue = GLOSSARY[kind]
        assert clue.group == "file"
        assert clue.title == e["title"] and clue.why == e["text"]
        assert clue.look_for


def test_order_is_first_mention_and_keys_are_unique():
    text = "Colour banding in the sky; the lighting is off; more banding below."
    assert clues_in(text) == ["banding", "lighting"]


def test_spans_cover_whole_words_and_do_not_overlap():
    text = "Coloured speckles and a checkerboard from upsampling."
    spans = clue_spans(text)
    assert [(text[a:b], k) for a, b, k in spans] == [
        ("speckles", "speckle"), ("checkerboard", "checkerboard"), ("upsampling", "checkerboard")]
    ends = [b for _, b, _ in spans]
    starts = [a for a, _, _ in spans]
    assert all(e <= s for e, s in zip(ends, starts[1:], strict=False))


def test_speckle_noise_is_not_camera_grain():
    assert clues_in("Bright coloured speckle noise appears.") == ["speckle"]
    assert "grain" in clues_in("The noise is even across the picture.")


@pytest.mark.parametrize("bad", [None, 42, b"bytes", "", "\x00" * 10, "a" * 200_000, "((((", "\ud800"])
def test_any_input_is_safe(bad):
    assert isinstance(clues_in(bad), list)
    assert isinstance(clue_spans(bad), list)


def test_long_text_is_bounded():
    text = "smooth " * 100_000
    assert clues_in(text) == ["over_smooth"]
    assert len(clue_spans(text)) <= len(text[: glossary._MAX_SCAN]) // 6 + 1  # noqa: SLF001


def test_translations_are_complete_and_chinese():
    for lang, table in TRANSLATIONS.items():
        assert set(table) == set(GLOSSARY), lang
        for key, (title, look_for, why) in table.items():
            for text in (title, look_for, why):
                assert text.strip()
                assert re.search(r"[\u4e00-\u9fff]", text), (lang, key, text)


def test_entry_falls_back_to_english():
    assert entry("banding", "zh-CN").title == TRANSLATIONS["zh-CN"]["banding"][0]
    assert entry("banding", "zh").lang == "zh-CN"
    fr = entry("banding", "fr")
    assert fr.title == GLOSSARY["banding"].title and fr.lang == "en"
    with pytest.raises(KeyError):
        entry("no-such-clue")
