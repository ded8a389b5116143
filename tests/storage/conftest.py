"""Fixtures for the storage tests: every backend test runs on SQLite, and on PostgreSQL when
SPOT_TEST_PG_URL is set (CI sets it with .ci/postgres.sh; locally the PostgreSQL runs are
skipped with the reason, unless SPOT_REQUIRE_PG=1 turns the skip into a failure, as CI should).
Each PostgreSQL test gets its own fresh schema, dropped afterwards.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (str(REPO), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from storage_helpers import SECRET, Maker, fresh_pg_schema  # noqa: E402

from storage import Store  # noqa: E402

PG_ENV = "SPOT_TEST_PG_URL"
BACKENDS = ["sqlite", "postgresql"]


def pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a brand-new schema."""
    base = pg_url()
    if not base and os.environ.get("SPOT_REQUIRE_PG") == "1":
        pytest.fail(f"SPOT_REQUIRE_PG=1 but {PG_ENV} is not set: run `eval \"$(bash .ci/postgres.sh)\"` first")
    if not base:
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV} (CI runs `eval \"$(bash .ci/postgres.sh)\"`)")
    with fresh_pg_schema(base) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'spot.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(db_url: str, data_dir: Path) -> Iterator[Store]:
    s = Store.open(db_url, data_dir, secret=SECRET, orphan_grace_s=0)
    try:
        yield s
    finally:
        s.close()




@pytest.fixture
def make(store: Store) -> Maker:
    return Maker(store)
