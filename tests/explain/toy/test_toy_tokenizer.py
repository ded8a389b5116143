"""The toy tokenizer: built with `tokenizers`, loaded by transformers, Llama-like where it matters."""

from __future__ import annotations

import pytest

from explain.decoding import verdict_token_ids
from explain.toy import texts
from explain.toy.tokenizer import PROMPT, build_tokenizer, save_tokenizer


@pytest.fixture(scope="module")
def hf_tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("toy-tok")
    save_tokenizer(build_tokenizer(), folder)
    return AutoTokenizer.from_pretrained(folder)


def test_every_sentence_round_trips_without_unknown_words(hf_tokenizer):
    for sentence in texts.all_sentences():
        ids = hf_tokenizer.encode(sentence, add_special_tokens=False)
        assert hf_tokenizer.unk_token_id not in ids, sentence
        assert hf_tokenizer.decode(ids) == sentence


def test_whole_answers_round_trip_with_spaces_and_punctuation(hf_tokenizer):
    answer = (
        "This is a fake image. Edges, shadows and noise look consistent everywhere. "
        "The upper left region shows a checkerboard pattern typical of upsampling."
    )
    ids = hf_tokenizer.encode(answer)  # with <s>
    assert ids[0] == hf_tokenizer.bos_token_id
    assert hf_tokenizer.decode(ids + [hf_tokenizer.eos_token_id], skip_special_tokens=True) == answer


def test_verdict_words_are_single_tokens(hf_tokenizer):
    ids = verdict_token_ids(hf_tokenizer)
    assert hf_tokenizer.convert_ids_to_tokens([ids["real"], ids["fake"]]) == ["▁real", "▁fake"]


def test_fakevlm_prompt_tokenizes_with_the_image_token_split_off(hf_tokenizer):
    tokens = hf_tokenizer.convert_ids_to_tokens(hf_tokenizer.encode(PROMPT))
    assert tokens[:3] == ["<s>", "<image>", "Does"]
    assert tokens[-4:] == ["▁real", "/", "fake", "?"]
    assert hf_tokenizer.unk_token not in tokens


def test_unknown_words_do_not_crash(hf_tokenizer):
    ids = hf_tokenizer.encode("This is a zebra image.", add_special_tokens=False)
    assert hf_tokenizer.unk_token_id in ids
