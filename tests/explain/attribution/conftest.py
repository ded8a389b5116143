"""Fixtures of the attribution tests: the tiny fixed-weight model of fixed_model.py."""

from __future__ import annotations

import pytest

from tests.explain.attribution.fixed_model import Fixed, make_fixed


@pytest.fixture(scope="session")
def fixed() -> Fixed:
    return make_fixed()
