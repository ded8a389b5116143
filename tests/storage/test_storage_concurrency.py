"""Many visitors at once: nothing lost, nobody sees "database is locked", the UI need not wait."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import make_url
from storage_helpers import SECRET, Maker, png_bytes

from storage import Store, WriteTimeout

THREADS = 16
WRITES = 250


def test_16_threads_x_250_feedback_writes_lose_nothing(store: Store, make: Maker) -> None:
    visitors = [make.visitor(f"visitor-{t}") for t in range(THREADS)]
    image = png_bytes(99)
    # One prediction per (visitor, write), queued without waiting, as a busy UI would.
    futures = [[store.save_prediction_async(make.prediction_in(v, image)) for _ in range(WRITES)]
               for v in visitors]
    pids = [[f.result(timeout=120) for f in row] for row in futures]

    errors: list[BaseException] = []
    acked: list[list[int]] = [[] for _ in range(THREADS)]
    stop_reading = threading.Event()
    reads = [0]

    def writer(t: int) -> None:
        try:
            for j, pid in enumerate(pids[t]):
                fid = store.save_feedback(make.feedback(
                    pid, visitors[t], comment=f"t{t}-w{j}", consent=bool(j % 2),
                    phrase_votes={j % 3: "agree" if j % 2 else "disagree"}))
                acked[t].append(fid)
        except BaseException as err:  # surfaced below
            errors.append(err)

    def reader() -> None:
        try:
            while not stop_reading.is_set():
                store.list_feedback(visitors[reads[0] % THREADS])
                store.stats()
                reads[0] += 1
                time.sleep(0.02)  # a page view now and then, not a busy loop hogging the GIL
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    r = threading.Thread(target=reader)
    r.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    stop_reading.set()
    r.join(timeout=30)

    assert errors == []
    assert reads[0] > 0  # reads ran alongside the writes
    all_ids = [fid for row in acked for fid in row]
    assert len(all_ids) == THREADS * WRITES == len(set(all_ids))
    assert store.stats().feedback == THREADS * WRITES
    for t in (0, THREADS // 2, THREADS - 1):
        got = store.list_feedback(visitors[t], _all())
        assert sorted(f.comment for f in got) == sorted(f"t{t}-w{j}" for j in range(WRITES))  # type: ignore[type-var]
        assert {f.id for f in got} == set(acked[t])
        for f in got:
            j = int(f.comment.split("-w")[1])  # type: ignore[union-attr]
            assert f.phrase_votes == {j % 3: "agree" if j % 2 else "disagree"}
            assert f.consent is bool(j % 2)


def _all():  # noqa: ANN202
    from storage import FeedbackFilter

    return FeedbackFilter(limit=10_000)


def test_two_stores_on_one_sqlite_file_do_not_lock_each_other(tmp_path: Path) -> None:
    """Two app processes (here: two stores, each with its own writer) on the same file wait on
    SQLite's busy timeout instead of failing."""
    url = f"sqlite:///{tmp_path / 'spot.db'}"
    a = Store.open(url, tmp_path / "data", secret=SECRET)
    b = Store.open(url, tmp_path / "data", secret=SECRET)
    try:
        errors: list[BaseException] = []

        def work(s: Store, name: str) -> None:
            try:
                m = Maker(s)
                v = m.visitor(name)
                for i in range(60):
                    pid = m.prediction(v, png_bytes(i))
                    s.save_feedback(m.feedback(pid, v, comment=f"{name}-{i}"))
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=work, args=(s, f"{tag}{k}"))
                   for s, tag in ((a, "a"), (b, "b")) for k in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
        assert errors == []
        assert a.stats().feedback == b.stats().feedback == 8 * 60
    finally:
        a.close()
        b.close()


def _lock_sqlite(url: str) -> sqlite3.Connection:
    """Another process's long write transaction, as seen by SQLite: holds the write lock."""
    conn = sqlite3.connect(make_url(url).database, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_ui_thread_does_not_wait_for_a_blocked_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spot.db'}"
    with Store.open(url, tmp_path / "data", secret=SECRET) as store:
        m = Maker(store)
        v = m.visitor("v")
        pid = m.prediction(v, png_bytes(1))
        lock = _lock_sqlite(url)
        try:
            t0 = time.perf_counter()
            fut = store.save_feedback_async(m.feedback(pid, v))
            handed_over = time.perf_counter() - t0
            assert handed_over < 0.5 and not fut.done()
            # Reads go on while the write waits for the lock (WAL: readers never block).
            assert [p.id for p in store.list_predictions(v)] == [pid]
            time.sleep(0.3)
            assert not fut.done()
        finally:
            lock.rollback()
            lock.close()
        assert fut.result(timeout=10) > 0
        assert store.get_feedback(pid, v) is not None


def test_write_timeout_is_reported_and_the_write_still_lands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spot.db'}"
    with Store.open(url, tmp_path / "data", secret=SECRET, write_timeout_s=0.3) as store:
        m = Maker(store)
        v = m.visitor("v")
        pid = m.prediction(v, png_bytes(1))
        lock = _lock_sqlite(url)
        try:
            with pytest.raises(WriteTimeout, match="did not complete within"):
                store.save_feedback(m.feedback(pid, v))
        finally:
            lock.rollback()
            lock.close()
        deadline = time.time() + 10
        while store.get_feedback(pid, v) is None and time.time() < deadline:
            time.sleep(0.05)
        assert store.get_feedback(pid, v) is not None


def test_closed_store_refuses_writes(tmp_path: Path) -> None:
    from storage import StoreClosed

    store = Store.open(f"sqlite:///{tmp_path / 'spot.db'}", tmp_path / "data", secret=SECRET)
    m = Maker(store)
    v = m.visitor("v")
    futures = [store.save_prediction_async(m.prediction_in(v, png_bytes(i))) for i in range(50)]
    store.close()  # drains the queue first
    assert all(f.done() and f.result() > 0 for f in futures)
    with pytest.raises(StoreClosed):
        store.save_prediction(m.prediction_in(v, png_bytes(1)))
    store.close()  # idempotent
