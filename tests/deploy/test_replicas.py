"""Finding: consented pictures lived on one machine's disk, so two replicas behind a load balancer
would each keep half of them. Two replica processes now share one PostgreSQL and one fsspec
picture store (a `file://` URL: a store both processes reach, as S3 would be); everything written
through either is exported once, nothing lost or duplicated."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "storage"))
from storage_helpers import SECRET, fresh_pg_schema, png_bytes  # noqa: E402

from storage import Store  # noqa: E402
from storage.export import export  # noqa: E402
from storage.image_store import FsspecImageFiles  # noqa: E402

OWN, SHARED = 12, 4


@pytest.fixture
def pg_url():
    base = os.environ.get("SPOT_TEST_PG_URL")
    if not base:
        if os.environ.get("SPOT_REQUIRE_PG") == "1":
            pytest.fail("SPOT_REQUIRE_PG=1 but SPOT_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL not configured: set SPOT_TEST_PG_URL (`eval \"$(bash .ci/postgres.sh)\"`)")
    with fresh_pg_schema(base) as url:
        yield url


@pytest.mark.timeout(300)
def test_two_replicas_share_the_database_and_the_picture_store(pg_url, tmp_path):
    pictures = f"file://{tmp_path / 'shared-pictures'}"
    go = tmp_path / "go"
    Store.open(pg_url, tmp_path / "migrate", secret=SECRET).close()  # the schema, as a deploy step would
    procs = [subprocess.Popen([sys.executable, str(HERE / "replica_worker.py"), pg_url, str(tmp_path / f"replica{i}"),
                               pictures, str(i), str(OWN), str(SHARED), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    deadline = time.monotonic() + 120
    while not all(go.with_suffix(f".ready{i}").exists() for i in range(2)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), procs[0].stderr.read()
        time.sleep(0.05)
    go.touch()
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]
        ids += json.loads(out)
    assert len(ids) == len(set(ids)) == 2 * (OWN + SHARED)

    expected = {hashlib.sha256(png_bytes(s)).hexdigest()
                for s in [10_000 * (r + 1) + i for r in range(2) for i in range(OWN)] + list(range(SHARED))}
    # a third process (an operator's export) sees everything once, from the shared store
    with Store.open(pg_url, tmp_path / "exporter", secret=SECRET, image_store=pictures) as store:
        assert store.check() == []
        rows = list(store.export_rows())
        assert sorted(r.feedback_id for r in rows) == sorted(ids)
        assert {r.image_sha256 for r in rows} == expected
        report = export(iter(rows), "fakeclue", tmp_path / "export")
        assert report.records == len(ids) and report.images == len(expected)
    files = FsspecImageFiles(pictures)
    assert sorted(sha for sha, _, temp in files.iter_files() if not temp) == sorted(expected)
    assert not [p for _, p, temp in files.iter_files() if temp]
    assert not (tmp_path / "replica0" / "images").exists()  # nothing landed on a replica's own disk


def test_fsspec_store_keeps_the_local_layout_and_cleans_up(tmp_path):
    files = FsspecImageFiles(f"file://{tmp_path / 'pics'}")
    data = png_bytes(7)
    sha, where = files.write(data)
    assert files.write(data)[0] == sha and where.read_bytes() == data  # idempotent, byte-exact
    assert (tmp_path / "pics" / files.rel_path(sha)).read_bytes() == data  # the local folder's layout
    orphan, _ = files.write(png_bytes(8))
    assert files.check({sha: len(data)}) == [f"orphan file {files.rel_path(orphan)}"]
    assert files.sweep({sha}, grace_s=3600) == (0, 0)  # too young: maybe another replica's, about to commit
    assert files.sweep({sha}, grace_s=0) == (1, 0) and files.check({sha: len(data)}) == []
    assert files.remove(sha) and not files.exists(sha) and files.read(sha) is None and not files.remove(sha)
