"""The toy model's tokenizer: a word-level vocabulary built with the `tokenizers` library.

Shaped like Llama's SentencePiece tokenizer where it matters to the rest of the project: words carry
a leading "▁" for the space before them (so "This is a fake image." round-trips exactly and the
verdict words are the single tokens "▁real" and "▁fake"), punctuation is split off, `<s>` is
prepended, `</s>` ends an answer, and `<image>` is a special token that LlavaProcessor expands to
576 placeholders. It loads through transformers' AutoTokenizer from tokenizer.json and
tokenizer_config.json alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from . import texts

PROMPT = "<image>Does the image looks real/fake?"  # FakeVLM's evaluation prompt, as published
BOS, EOS, UNK, PAD, IMAGE = "<s>", "</s>", "<unk>", "<pad>", "<image>"
SPECIALS = (UNK, BOS, EOS, PAD, IMAGE)  # ids 0..4
SPACE = "▁"


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="first", split=True),
            pre_tokenizers.Split(Regex(r"[^\w▁]"), behavior="isolated"),
        ]
    )


def words_of(sentences: Iterable[str]) -> list[str]:
    """The pre-tokenized pieces of `sentences`, in first-seen order."""
    pre = _pre_tokenizer()
    seen: dict[str, None] = {}
    for s in sentences:
        # each word both at the start of a text (with "▁") and after a special token (without)
        for piece, _ in pre.pre_tokenize_str(s):
            seen.setdefault(piece, None)
            seen.setdefault(piece.lstrip(SPACE) or piece, None)
    return list(seen)


def build_tokenizer(extra_sentences: Iterable[str] = ()) -> Tokenizer:
    """The word-level tokenizer for every sentence of the toy world and FakeVLM's prompt."""
    corpus = [PROMPT.replace(IMAGE, ""), *texts.all_sentences(), *extra_sentences]
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for w in words_of(corpus):
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = _pre_tokenizer()
    tok.decoder = decoders.Metaspace(replacement=SPACE, prepend_scheme="first", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A",
        pair=f"{BOS} $A {BOS} $B",
        special_tokens=[(BOS, vocab[BOS])],
    )
    tok.add_special_tokens(list(SPECIALS))
    return tok


TOKENIZER_CONFIG = {
    "tokenizer_class": "PreTrainedTokenizerFast",
    "bos_token": BOS,
    "eos_token": EOS,
    "unk_token": UNK,
    "pad_token": PAD,
    "add_bos_token": True,
    "add_eos_token": False,
    "clean_up_tokenization_spaces": False,
    "model_max_length": 1024,
    "padding_side": "left",
}


def save_tokenizer(tok: Tokenizer, out_dir: str | Path) -> None:
    """tokenizer.json, tokenizer_config.json and special_tokens_map.json, as in a llava-hf folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=2) + "\n")
    special = {"bos_token": BOS, "eos_token": EOS, "unk_token": UNK, "pad_token": PAD}
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
