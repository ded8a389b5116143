"""Both verdict rules on FakeVLM-style answers and the edge cases of the official evaluation."""

import pytest

from explain.verdict import verdict_of, verdict_sentence_end

CASES = [
    # text, word rule, substring rule (the paper's)
    ("This is a fake image. The person's skin looks overly smooth.", "fake", "fake"),
    ("This is a real image. Natural lighting and consistent shadows.", "real", "real"),
    ("\nThis is a fake image. The fur is blurred.", "fake", "fake"),  # leading newline
    (" This is a real image.", "real", "real"),
    ("Looking closely. This is a fake image.", "fake", "fake"),  # verdict in the second sentence
    ("Hmm. Really hard to say. This is fake.", "undecided", "real"),  # 'Really' contains 'real'
    ("The image looks unrealistic. The hands are wrong.", "undecided", "real"),  # 'unrealistic'
    ("This image is not fake, it is real.", "real", "real"),  # both words: 'real' is checked first
    ("It could be fake or real.", "real", "real"),
    ("The colours are vivid. The composition is centred. This is fake.", "undecided", "undecided"),
    ("", "undecided", "undecided"),
    ("I cannot tell.", "undecided", "undecided"),
    ("Does the image looks real/fake? This is a fake image.", "fake", "fake"),  # after the last '?'
    ("This is a FAKE image.", "fake", "fake"),  # lower-cased
    ("Fakes are common. Anyway.", "undecided", "fake"),  # 'Fakes' is not the word 'fake'
    ("This is a real-looking fake image.", "real", "real"),  # official order on both words
]


@pytest.mark.parametrize("text,word,substring", CASES)
def test_rules(text, word, substring):
    assert verdict_of(text, "word") == word
    assert verdict_of(text, "substring") == substring


def test_default_rule_is_word():
    assert verdict_of("The image looks unrealistic.") == "undecided"


def test_unknown_rule():
    with pytest.raises(ValueError):
        verdict_of("This is fake.", "regex")


@pytest.mark.parametrize(
    "text,end",
    [
        ("This is a fake", None),
        ("This is a fake image.", 21),
        ("This is a fake image. The", 21),
        ("Hmm. This is real. More", 18),
        ("Hmm. Hmm. This is real.", None),  # the rule only looks at two sentences
    ],
)
def test_verdict_sentence_end(text, end):
    assert verdict_sentence_end(text) == end


def test_sentence_end_follows_the_rule():
    """Issue 18: under the paper's rule the verdict card appears after "unrealistic" too."""
    text = "The lighting looks unrealistic. More"
    assert verdict_sentence_end(text, "word") is None
    assert verdict_sentence_end(text, "substring") == 31
