"""Benchmark: feedback writes per second through the store's single writer, with N visitor threads.

Each thread is one visitor; its predictions are created first (not timed), then every thread saves
W feedback records as fast as it can, each call waiting for its commit as the UI's default call
does. Reported: writes/s over the whole run, and per-call latency p50/p95/max. `--async` adds a
run where one thread queues all writes with `save_feedback_async` and then waits (the writer's own
ceiling). `--naive` adds a baseline without the single writer: every thread commits its own
transaction on its own connection (same WAL + busy timeout), to show what the writer buys.

    python bench/storage_writes.py                          # SQLite, 1/4/16 threads x 250 writes
    python bench/storage_writes.py --pg-url postgresql+psycopg://spot:spot@127.0.0.1:5432/spot_test
    python bench/storage_writes.py --threads 16 --writes 250 --async --naive

Results, with command, machine and date: bench/STORAGE_RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, insert  # noqa: E402

from storage import FeedbackIn, PhraseSpan, PredictionIn, Store, db  # noqa: E402
from storage.models import Feedback, PhraseVote  # noqa: E402

SECRET = b"benchmark-secret-key-0123456789"
TEXT = "This is a fake image. The skin looks overly smooth. The left eye reflects a different light."
PHRASES = [PhraseSpan("This is a fake image.", 0, 21), PhraseSpan("The skin looks overly smooth.", 22, 51),
           PhraseSpan("The left eye reflects a different light.", 52, 92)]


@dataclass
class Result:
    backend: str
    mode: str
    threads: int
    writes: int
    seconds: float
    writes_per_s: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    errors: int


def _prediction(client: str, i: int) -> PredictionIn:
    sha = hashlib.sha256(f"image-{i % 50}".encode()).hexdigest()
    return PredictionIn(client_hash=client, image_sha256=sha, image_format="png", image_width=640,
                        image_height=480, model_id="lingcco/fakeVLM", prompt="<image>Does the image looks real/fake?",
                        text=TEXT, verdict="fake", p_fake=0.9, phrases=PHRASES, timings={"total_s": 2.0})


def _feedback(pid: int, client: str, j: int) -> FeedbackIn:
    return FeedbackIn(prediction_id=pid, client_hash=client, verdict_correct=bool(j % 2),
                      true_label="fake" if j % 2 else "real", phrase_votes={1: "agree", 2: "disagree"},
                      category="human", comment=f"benchmark comment {j}", consent=False)


def _setup(store: Store, threads: int, writes: int) -> tuple[list[str], list[list[int]]]:
    clients = [store.client_hash(f"bench-{uuid.uuid4().hex}") for _ in range(threads)]
    futures = [[store.save_prediction_async(_prediction(c, t * writes + j)) for j in range(writes)]
               for t, c in enumerate(clients)]
    return clients, [[f.result(timeout=600) for f in row] for row in futures]


def _summary(backend: str, mode: str, threads: int, lat: list[float], seconds: float, errors: int) -> Result:
    lat_ms = sorted(x * 1000 for x in lat) or [0.0]
    p95 = lat_ms[min(len(lat_ms) - 1, int(0.95 * len(lat_ms)))]
    return Result(backend, mode, threads, len(lat), round(seconds, 3), round(len(lat) / seconds, 1),
                  round(statistics.median(lat_ms), 2), round(p95, 2), round(lat_ms[-1], 2), errors)


def _threaded(threads: int, pids: list[list[int]], write_one) -> tuple[list[float], float, int]:
    """Run write_one(thread, j, prediction_id) for every write, one thread per row of pids, all
    released together; returns every write's latency, the wall time and the number of errors."""
    lat: list[list[float]] = [[] for _ in range(threads)]
    errors = [0]
    start = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        start.wait()
        for j, pid in enumerate(pids[t]):
            t0 = time.perf_counter()
            try:
                write_one(t, j, pid)
            except Exception:
                errors[0] += 1
            lat[t].append(time.perf_counter() - t0)

    ths = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in ths:
        th.start()
    start.wait()
    t0 = time.perf_counter()
    for th in ths:
        th.join()
    return [x for row in lat for x in row], time.perf_counter() - t0, errors[0]


def run_store(backend: str, url: str, data_dir: Path, threads: int, writes: int) -> Result:
    with Store.open(url, data_dir, secret=SECRET) as store:
        clients, pids = _setup(store, threads, writes)
        lat, seconds, errors = _threaded(
            threads, pids, lambda t, j, pid: store.save_feedback(_feedback(pid, clients[t], j))
        )
        return _summary(backend, "store, blocking", threads, lat, seconds, errors)


def run_async(backend: str, url: str, data_dir: Path, threads: int, writes: int) -> Result:
    with Store.open(url, data_dir, secret=SECRET) as store:
        clients, pids = _setup(store, threads, writes)
        t0 = time.perf_counter()
        futures, lat = [], []
        for t in range(threads):
            for j, pid in enumerate(pids[t]):
                t1 = time.perf_counter()
                futures.append(store.save_feedback_async(_feedback(pid, clients[t], j)))
                lat.append(time.perf_counter() - t1)  # what the UI thread pays: the hand-over
        errors = 0
        for f in futures:
            try:
                f.result(timeout=600)
            except Exception:
                errors += 1
        return _summary(backend, "store, async (latency = hand-over)", 1, lat, time.perf_counter() - t0, errors)


def run_naive(backend: str, url: str, data_dir: Path, threads: int, writes: int) -> Result:
    """No single writer: each thread inserts and commits on its own pooled connection."""
    with Store.open(url, data_dir, secret=SECRET) as store:
        clients, pids = _setup(store, threads, writes)
    engine = db.make_engine(db.parse_url(url), role="reader")

    def write_one(t: int, j: int, pid: int) -> None:
        with engine.begin() as conn:
            now = datetime.now(timezone.utc)
            fid = conn.execute(insert(Feedback).values(
                prediction_id=pid, client_hash=clients[t], verdict_correct=bool(j % 2),
                true_label="fake", category="human", comment=f"c{j}", consent=False,
                created_at=now, updated_at=now, review_state="pending")).inserted_primary_key[0]
            conn.execute(insert(PhraseVote), [{"feedback_id": fid, "phrase_index": 1, "vote": "agree"},
                                              {"feedback_id": fid, "phrase_index": 2, "vote": "disagree"}])

    lat, seconds, errors = _threaded(threads, pids, write_one)
    engine.dispose()
    return _summary(backend, "naive, commit per thread", threads, lat, seconds, errors)


def _pg_schema_url(base: str) -> tuple[str, object]:
    url = db.parse_url(base)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False), drop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="1,4,16", help="comma-separated thread counts (default 1,4,16)")
    ap.add_argument("--writes", type=int, default=250, help="feedback writes per thread (default 250)")
    ap.add_argument("--pg-url", default=os.environ.get("SPOT_TEST_PG_URL"), help="also run on this PostgreSQL")
    ap.add_argument("--async", dest="run_async", action="store_true", help="add the async hand-over run")
    ap.add_argument("--naive", action="store_true", help="add the no-single-writer baseline")
    ap.add_argument("--json", action="store_true", help="print results as JSON lines")
    args = ap.parse_args()
    counts = [int(x) for x in args.threads.split(",")]

    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    if args.pg_url:
        backends.append(("postgresql", args.pg_url))
    results: list[Result] = []
    for backend, pg in backends:
        for n in counts:
            runs = [run_store] + ([run_naive] if args.naive else [])
            if args.run_async and n == max(counts):
                runs.append(run_async)
            for fn in runs:
                with tempfile.TemporaryDirectory(prefix="spot-bench-") as tmp:
                    drop = None
                    url = f"sqlite:///{Path(tmp) / 'spot.db'}"
                    if pg:
                        url, drop = _pg_schema_url(pg)
                    try:
                        res = fn(backend, url, Path(tmp) / "data", n, args.writes)
                    finally:
                        if drop:
                            drop()  # type: ignore[operator]
                results.append(res)
                if args.json:
                    print(json.dumps(asdict(res)), flush=True)
    if not args.json:
        load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
        print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}, load average {load[0]:.2f}")
        print("| backend | mode | threads | writes | s | writes/s | p50 ms | p95 ms | max ms | errors |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in results:
            print(f"| {r.backend} | {r.mode} | {r.threads} | {r.writes} | {r.seconds} | {r.writes_per_s} | "
                  f"{r.p50_ms} | {r.p95_ms} | {r.max_ms} | {r.errors} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
