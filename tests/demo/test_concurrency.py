"""Eight visitors at once: every stream, map and feedback completes, and nobody gets another's result."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time

from gradio_client import Client, handle_file

from .conftest import png_file

CLIENTS = 8


def test_eight_concurrent_clients_complete(server, tmp_path):
    paths = [png_file(tmp_path / f"c{i}.png", width=360 + 8 * i, height=340, seed=100 + i) for i in range(CLIENTS)]
    results: dict[int, dict] = {}
    errors: list[str] = []
    start = threading.Barrier(CLIENTS)

    def visitor(i: int) -> None:
        try:
            c = Client(server.url, verbose=False, download_files=False)
            start.wait(timeout=60)
            t0 = time.monotonic()
            job = c.submit(handle_file(str(paths[i])), api_name="/explain")
            updates = list(job)
            details = updates[-1][7]
            pid = str(details["prediction_id"])
            # two of them ask for maps, which need the model alone, while the others still stream
            maps = c.predict(pid, "gradient", None, 0.7, api_name="/attribute")[4] if i % 4 == 0 else None
            _, fid = c.predict(pid, "right", None, [], [], "", None, f"client {i}", False, api_name="/feedback")
            results[i] = {"details": details, "updates": len(updates), "maps": len(maps or []), "feedback": fid,
                          "seconds": time.monotonic() - t0}
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(f"client {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(CLIENTS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=400)
    assert not errors, errors
    assert sorted(results) == list(range(CLIENTS))
    pids = {r["details"]["prediction_id"] for r in results.values()}
    assert len(pids) == CLIENTS, "every client got its own prediction"
    for i, r in results.items():
        assert r["details"]["sha256"] == hashlib.sha256(paths[i].read_bytes()).hexdigest()
        if i % 4 == 0:
            assert r["maps"] == len(r["details"]["phrases"])
        assert r["updates"] >= 2
    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True) as db:
        rows = db.execute(f"SELECT prediction_id, comment FROM feedback WHERE prediction_id IN "
                          f"({','.join('?' * len(pids))})", sorted(pids)).fetchall()
    assert sorted(c for _, c in rows) == sorted(f"client {i}" for i in range(CLIENTS))
    assert server.alive()
