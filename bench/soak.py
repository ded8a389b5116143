"""Soak benchmark: many visitors at once on a real server for minutes, some of them hostile.

Starts `app.py` (toy model, SQLite, a fresh data folder) on a free loopback port and runs N visitor
threads for D seconds. Each visitor loops over a mix: explain a picture (streamed), ask for its fast
maps, send feedback (half of them with consent), and now and then send a hostile upload (not a
picture, a decompression bomb, a truncated PNG) or a malformed API call. Recorded:

- server errors: tracebacks in the server log and HTTP 5xx answers (target 0);
- acknowledged writes lost: every feedback id the server acknowledged is looked up in the database
  after the run (target 0);
- the server's resident memory every 5 s (flat after warm-up is the target: the last third's maximum
  against the first third's);
- latency percentiles per kind of request.

    python bench/soak.py                                 # 32 visitors, 600 s
    python bench/soak.py --visitors 8 --seconds 120      # a quick look

Results, with command, machine and date: bench/SOAK_RESULTS.md (newest first, older runs kept).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import psutil
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._machine import cpu_model  # noqa: E402
from bench._server import answers, start_app, stop_app  # noqa: E402

HOSTILE = {
    "notes.png": b"This is not a picture.\n" * 40,
    "truncated.png": None,  # filled in below
}


def _png(seed: int, side: int = 400) -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", (side, side), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(30):
        x, y = rng.randrange(side - 40), rng.randrange(side - 40)
        img.paste((rng.randrange(256), rng.randrange(256), rng.randrange(256)), (x, y, x + 40, y + 40))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def start(tmp: Path, visitors: int) -> tuple[subprocess.Popen, str, Path]:
    app_args = ["--model", "toy", "--device", "cpu", "--rate-limit", "100000", "--max-new-tokens", "64",
                "--concurrency", "2", "--queue-size", str(4 * visitors), "--upload-budget-mb", "100000"]  # fmt: skip
    proc, url = start_app(app_args, tmp, tmp / "server.log", timeout_s=180)
    return proc, url, tmp / "data" / "spot.sqlite3"


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.acknowledged: list[int] = []

    def took(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latency[kind].append(seconds)

    def failed(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1


def visitor(n: int, url: str, until: float, tally: Tally, tmp: Path) -> None:
    from gradio_client import Client, handle_file

    rng = random.Random(n)
    client = Client(url, verbose=False, download_files=False)
    token = f"soak-visitor-{n:04d}-{rng.getrandbits(64):016x}"
    i = 0
    while time.monotonic() < until:
        i += 1
        path = tmp / f"v{n}-{i}.png"
        if rng.random() < 0.15:  # hostile upload: expect a sentence, never a server fault
            name = rng.choice(sorted(HOSTILE))
            path = tmp / f"v{n}-{i}-{name}"
            path.write_bytes(HOSTILE[name])
            t0 = time.monotonic()
            try:
                client.predict(handle_file(str(path)), visitor=token, api_name="/explain")
                tally.failed("hostile accepted")
            except Exception as exc:  # noqa: BLE001 - a refusal is the expected answer
                if not str(exc).strip():
                    tally.failed("hostile without a sentence")
            tally.took("hostile", time.monotonic() - t0)
            continue
        path.write_bytes(_png(n * 100_000 + i))
        try:
            t0 = time.monotonic()
            out = client.predict(handle_file(str(path)), visitor=token, api_name="/explain")
            tally.took("explain", time.monotonic() - t0)
            pid = str(out[7]["prediction_id"])
            t0 = time.monotonic()
            client.predict(pid, "gradient", None, 0.7, visitor=token, api_name="/attribute")
            tally.took("maps", time.monotonic() - t0)
            t0 = time.monotonic()
            _, fid = client.predict(pid, rng.choice(["right", "wrong"]), None, [], [], "", None, "",
                                    rng.random() < 0.5, visitor=token, api_name="/feedback")
            tally.took("feedback", time.monotonic() - t0)
            with tally.lock:
                tally.acknowledged.append(int(fid))
        except Exception as exc:  # noqa: BLE001 - counted, the run goes on
            tally.failed(f"{type(exc).__name__}: {str(exc)[:80]}")
        finally:
            path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--visitors", type=int, default=32)
    p.add_argument("--seconds", type=float, default=600.0)
    p.add_argument("--record", type=Path, default=REPO / "bench" / "SOAK_RESULTS.md")
    args = p.parse_args(argv)

    truncated = _png(1)
    HOSTILE["truncated.png"] = truncated[: len(truncated) // 3]
    tmp = Path(tempfile.mkdtemp(prefix="spot-soak-"))
    proc, url, db_path = start(tmp, args.visitors)
    server = psutil.Process(proc.pid)
    tally = Tally()
    rss: list[float] = []
    start_t = time.monotonic()
    until = start_t + args.seconds
    threads = [threading.Thread(target=visitor, args=(n, url, until, tally, tmp), daemon=True)
               for n in range(args.visitors)]
    for th in threads:
        th.start()
    while any(th.is_alive() for th in threads):
        rss.append(server.memory_info().rss / 2**20)
        time.sleep(5)
    alive = answers(url)
    stop_app(proc, timeout_s=60)
    log = (tmp / "server.log").read_text(errors="replace")
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        stored = {r[0] for r in db.execute("SELECT id FROM feedback")}
    lost = sorted(set(tally.acknowledged) - stored)
    third = max(len(rss) // 3, 1)
    result = {
        "visitors": args.visitors, "seconds": args.seconds, "server_alive_at_end": alive,
        "tracebacks_in_log": log.count("Traceback"), "errors": dict(tally.errors),
        "acknowledged_writes": len(tally.acknowledged), "acknowledged_writes_lost": len(lost),
        "rss_mib_first_third_max": round(max(rss[:third]), 1), "rss_mib_last_third_max": round(max(rss[-third:]), 1),
        "rss_mib_each_minute": [round(r) for r in rss[::12]],
        "latency_s": {k: {"n": len(v), "p50": round(statistics.median(v), 2),
                          "p95": round(sorted(v)[int(0.95 * (len(v) - 1))], 2), "max": round(max(v), 2)}
                      for k, v in sorted(tally.latency.items())},
    }
    print(json.dumps(result, indent=2))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    entry = (f"## {stamp}\n\n`python bench/soak.py --visitors {args.visitors} --seconds {args.seconds:g}` on "
             f"{cpu_model()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}\n\n```json\n"
             f"{json.dumps(result, indent=2)}\n```\n")
    head = "# Soak benchmark results (bench/soak.py), newest first\n\n"
    old = args.record.read_text().removeprefix(head) if args.record.exists() else ""
    args.record.write_text(head + entry + ("\n" + old if old else ""))
    return 0 if alive and not lost and not result["tracebacks_in_log"] else 1


if __name__ == "__main__":
    sys.exit(main())
