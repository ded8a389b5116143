"""Fixtures of the attribution tests: the tiny fixed-weight model of fixed_model.py."""

from __future__ import annotations

import pytest
import torch

from tests.explain.attribution.fixed_model import Fixed, make_fixed


@pytest.fixture(scope="session")
def fixed() -> Fixed:
    return make_fixed()


@pytest.fixture(autouse=True)
def one_thread():
    """The test models are tiny: one thread is faster than two, and on a busy machine much faster
    (OpenMP threads wait on each other for every small kernel)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
