"""Token-level helpers shared by the detector, the backends and the attribution: streaming
detokenisation, the ids of the verdict words, and eos ids as a list."""

from __future__ import annotations

from dataclasses import dataclass, field

_REPLACEMENT = "\ufffd"


@dataclass
class IncrementalDecoder:
    """Turns a growing list of token ids into text deltas without splitting multi-byte characters.

    Decoding the whole sequence each step is O(n^2) in tokens but n <= a few hundred, and it is the
    only way that is exact for every tokenizer (SentencePiece strips the first space, byte-level BPE
    splits characters across tokens). `char_ends[t]` is the text length once token t is decoded.
    """

    tokenizer: object
    ids: list[int] = field(default_factory=list)
    char_ends: list[int] = field(default_factory=list)
    text: str = ""  # what has been emitted so far

    def push(self, token_id: int) -> str:
        self.ids.append(int(token_id))
        full = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if full.endswith(_REPLACEMENT) or not full.startswith(self.text):
            # an unfinished multi-byte character: hold it back until the next token completes it
            self.char_ends.append(len(self.text))
            return ""
        delta = full[len(self.text) :]
        self.text = full
        self.char_ends.append(len(full))
        return delta

    def finish(self) -> tuple[str, list[int]]:
        """Final text and per-token char ends (held-back tokens are assigned to where they land)."""
        full = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        ends = [min(e, len(full)) for e in self.char_ends]
        # tokens that were held back end where the text they completed ends
        for i in range(len(ends) - 2, -1, -1):
            ends[i] = min(ends[i], ends[i + 1])
        if ends:
            ends[-1] = len(full)
        return full, ends


def verdict_token_ids(tokenizer) -> dict[str, int]:
    """Ids of the tokens that carry 'real' and 'fake' in FakeVLM's verdict sentence.

    Taken from the tokenizer, tokenizer-agnostically: encode the two verdict sentences and take the
    one token where they differ. Raises if the words are not single tokens in that position.
    """
    a = tokenizer.encode("This is a real image.", add_special_tokens=False)
    b = tokenizer.encode("This is a fake image.", add_special_tokens=False)
    if len(a) != len(b):
        raise ValueError("this tokenizer does not encode 'real'/'fake' as one token each in the verdict sentence")
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diff) != 1:
        raise ValueError("this tokenizer does not encode 'real'/'fake' as one token each in the verdict sentence")
    i = diff[0]
    return {"real": a[i], "fake": b[i]}


def as_list(x) -> list[int]:
    """A token id setting (None, one id, or several, as generation configs hold eos) as a list."""
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [int(x)]
