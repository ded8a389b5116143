"""A kill -9 in the middle of writing: the database opens, passes SQLite's integrity check, keeps
every write that was acknowledged, and the start-up sweep leaves no orphan files."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from storage_helpers import SECRET, png_bytes

from storage import FeedbackFilter, Store

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

CHILD = textwrap.dedent("""
    import sys, threading
    sys.path[:0] = [{repo!r}, {here!r}]
    from storage_helpers import Maker, png_bytes, SECRET
    from storage import Store
    store = Store.open({url!r}, {data!r}, secret=SECRET)
    m = Maker(store)
    out = threading.Lock()

    def work(t):
        v = m.visitor(f"crash-{{t}}")
        i = 0
        while True:
            seed = {round} * 1_000_000 + t * 10_000 + i
            img = png_bytes(seed, size=(96, 96))
            pid = m.prediction(v, img, image_width=96, image_height=96)
            store.save_maps(pid, m.maps(3))
            fid = store.save_feedback(m.feedback(pid, v, comment=f"ack-{{seed}}"), image_bytes=img)
            with out:
                print(pid, fid, seed, flush=True)
            i += 1

    threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
""")


def _run_and_kill(url: str, data: Path, round_: int, kill_after: int) -> list[tuple[int, int, int]]:
    code = CHILD.format(repo=str(REPO), here=str(HERE), url=url, data=str(data), round=round_)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    acked: list[tuple[int, int, int]] = []
    deadline = time.time() + 90
    try:
        assert proc.stdout is not None
        while len(acked) < kill_after and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(tuple(int(x) for x in line.split()))  # type: ignore[arg-type]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        rest, err = proc.communicate(timeout=30)
    acked += [tuple(int(x) for x in ln.split()) for ln in rest.splitlines() if ln.strip()]  # type: ignore[misc]
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= kill_after, f"child wrote too little before the kill: {err[-2000:]}"
    return acked


def test_kill_9_during_writes_leaves_a_consistent_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spot.db'}"
    data = tmp_path / "data"
    acked_all: list[tuple[int, int, int]] = []
    for round_, kill_after in enumerate((12, 30, 55)):
        acked_all += _run_and_kill(url, data, round_, kill_after)

        store = Store.open(url, data, secret=SECRET, orphan_grace_s=0)
        try:
            assert store.check() == []  # integrity_check ok, foreign keys ok, no orphan or damaged files
            with store._reader.connect() as conn:  # noqa: SLF001 - the test reads SQLite's own verdict
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            fb = {f.id: f for f in store.reviewer_list_feedback(FeedbackFilter(limit=10_000))}
            for pid, fid, seed in acked_all:  # every acknowledged write survived
                assert fid in fb and fb[fid].comment == f"ack-{seed}" and fb[fid].prediction_id == pid
                assert len(store.reviewer_get_maps(pid)) == 3
                sha = hashlib.sha256(png_bytes(seed, size=(96, 96))).hexdigest()
                assert store.reviewer_get_image(sha) == png_bytes(seed, size=(96, 96))
        finally:
            store.close()


def test_startup_sweep_removes_orphans_and_repairs_missing_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spot.db'}"
    data = tmp_path / "data"
    with Store.open(url, data, secret=SECRET) as store:
        kept = store.put_image(png_bytes(1), "png")
        gone = store.put_image(png_bytes(2), "png")
    # What a crash can leave: a file whose row never committed, a half-written temp file; and
    # what an operator can do: delete a stored file by hand.
    orphan_sha = hashlib.sha256(b"orphan").hexdigest()
    orphan = data / "images" / orphan_sha[:2] / f"{orphan_sha}.bin"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"orphan")
    tmp = orphan.parent / f".{orphan_sha}.0123456789abcdef.tmp"
    tmp.write_bytes(b"half")
    unrelated = data / "images" / "README.txt"
    unrelated.write_text("not ours to delete")
    (data / "images" / gone.sha256[:2] / f"{gone.sha256}.bin").unlink()

    # A fresh orphan may belong to another process that is about to commit: the grace keeps it.
    with Store.open(url, data, secret=SECRET, orphan_grace_s=300) as store:
        assert store.last_sweep is not None
        assert (store.last_sweep.orphan_files_removed, store.last_sweep.temp_files_removed) == (0, 0)
        assert store.last_sweep.missing_files == 1
        assert orphan.exists()
        assert any("orphan file" in p for p in store.check())

    with Store.open(url, data, secret=SECRET, orphan_grace_s=0) as store:
        assert store.last_sweep is not None
        assert (store.last_sweep.orphan_files_removed, store.last_sweep.temp_files_removed) == (1, 1)
        assert not orphan.exists() and not tmp.exists() and unrelated.exists()
        assert store.files.read(kept.sha256) == png_bytes(1)
        assert store.reviewer_get_image(gone.sha256) is None
        assert store.check() == []


def test_damaged_file_is_reported_by_check(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'spot.db'}", tmp_path / "data", secret=SECRET) as store:
        ref = store.put_image(png_bytes(3), "png")
        path = store.files.path(ref.sha256)
        path.write_bytes(path.read_bytes()[:-1] + b"\x00")
        assert store.check() == [f"image {ref.sha256}: file content does not match its hash"]


@pytest.mark.parametrize("junk", [b"", b"this is not a database at all" * 100])
def test_opening_a_non_database_file_says_so(tmp_path: Path, junk: bytes) -> None:
    from storage import ConfigError

    db = tmp_path / "spot.db"
    db.write_bytes(junk)
    if not junk:
        # An empty file is a valid empty SQLite database: it is simply initialised.
        with Store.open(f"sqlite:///{db}", tmp_path / "data", secret=SECRET) as store:
            assert store.schema_revision
        return
    with pytest.raises(ConfigError, match="not a SQLite database"):
        Store.open(f"sqlite:///{db}", tmp_path / "data", secret=SECRET)
