"""Phrase segmentation with character and token offsets."""

from explain.phrases import split_phrases


def _ends(tokens):
    out, n = [], 0
    for t in tokens:
        n += len(t)
        out.append(n)
    return out


def test_sentences_and_offsets():
    tokens = ["This", " is", " a", " fake", " image", ".", " The", " sky", " is", " banded", "."]
    text = "".join(tokens)
    phrases = split_phrases(text, _ends(tokens))
    assert [p.text for p in phrases] == ["This is a fake image.", "The sky is banded."]
    assert (phrases[0].token_start, phrases[0].token_end) == (0, 6)
    assert (phrases[1].token_start, phrases[1].token_end) == (6, 11)
    for p in phrases:
        assert text[p.char_start : p.char_end] == p.text


def test_clauses_and_unterminated_tail():
    text = "This is a fake image. Edges are soft; the text is warped and"
    tokens = list(text)  # one token per character
    phrases = split_phrases(text, _ends(tokens))
    assert [p.text for p in phrases] == ["This is a fake image.", "Edges are soft;", "the text is warped and"]
    assert phrases[2].token_end == len(tokens)
    assert all(p.token_end - p.token_start == len(p.text) for p in phrases)


def test_token_spanning_two_phrases_belongs_to_both():
    tokens = ["Fake", ". T", "he end", "."]
    text = "".join(tokens)
    a, b = split_phrases(text, _ends(tokens))
    assert (a.token_start, a.token_end) == (0, 2)
    assert (b.token_start, b.token_end) == (1, 4)


def test_leading_whitespace_and_decimals():
    text = "  About 2.5 times. Done."
    phrases = split_phrases(text, _ends(list(text)))
    assert [p.text for p in phrases] == ["About 2.5 times.", "Done."]
    assert phrases[0].char_start == 2


def test_empty():
    assert split_phrases("", []) == ()
