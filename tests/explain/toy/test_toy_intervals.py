"""The evaluation's 95 % confidence intervals (Wilson score), against published values."""

from __future__ import annotations

import pytest

from explain.toy.evaluate import intervals, wilson


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (5, 10, [0.2366, 0.7634]),  # Newcombe (1998), Statistics in Medicine 17:857, table I
        (0, 10, [0.0, 0.2775]),
        (10, 10, [0.7225, 1.0]),
        (81, 263, [0.2553, 0.3662]),  # Newcombe's 81/263 example
    ],
)
def test_wilson_matches_published_intervals(k, n, expected):
    assert wilson(k, n) == pytest.approx(expected, abs=1e-4)


def test_every_share_gets_an_interval_from_its_own_count():
    result = {
        "n": 500,
        "n_fake": 256,
        "n_real": 244,
        "verdict_accuracy": 0.998,
        "fakes_called_fake": 1.0,
        "real_clean_rate": 0.9959,
        "pointing_game": 0.9,
        "pointing_n": 0,
        "kind_accuracy": None,
    }
    ci = intervals(result)
    assert set(ci) == {"verdict_accuracy", "fakes_called_fake", "real_clean_rate"}  # no count, no interval
    assert ci["verdict_accuracy"] == wilson(499, 500)
    assert ci["fakes_called_fake"] == wilson(256, 256) and ci["fakes_called_fake"][1] == 1.0
    assert ci["real_clean_rate"] == wilson(243, 244)
    assert wilson(0, 0) is None
