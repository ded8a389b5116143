"""How long the app's maps take, and how honest its running estimate of the time left is.

    python bench/maps_progress.py [--model toy] [--method occlusion] [--threads 2] [--repeat 1]

Runs the app's own path (demo/service: `AppState.maps_progress`, the same thread, progress and
estimate the page shows) on the example pictures, and records for each run the seconds the maps
took, the units of work (image copies rescored) and, at 10 %, 25 %, 50 % and 75 % of the work,
the estimate of the time left beside the time that was in fact left. Prints one JSON line per run
and a Markdown table; bench/MAPS_PROGRESS_RESULTS.md records them with the machine's load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _machine import cpu_model  # bench/ is on sys.path when a bench script runs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHECKPOINTS = (0.10, 0.25, 0.50, 0.75)


def run_once(app, picture: Path, method: str, page: str) -> dict:
    v = app.visitor("B" * 32, page)
    assert app.precheck(str(picture), v, page) is None
    views = list(app.explain(str(picture), v, page))
    pid = views[-1].prediction_id
    t0 = time.monotonic()
    seen: list[tuple[float, float, float | None]] = []  # (time, fraction, estimate)
    units = app._map_units(app._analysis(pid, v), method)  # noqa: SLF001 - the bench measures the service
    for p in app.maps_progress(pid, v, method, page):
        if p.stage != "done":
            seen.append((time.monotonic(), p.fraction, p.eta_s))
    end = time.monotonic()
    checks = {}
    for c in CHECKPOINTS:
        at = next(((t, f, e) for t, f, e in seen if f >= c and e is not None), None)
        if at is not None:
            checks[f"{round(c * 100)}%"] = {"estimate_s": round(at[2], 1), "actual_s": round(end - at[0], 1)}
    return {"picture": picture.name, "method": method, "phrases": len(views[-1].phrases), "units": units,
            "seconds": round(end - t0, 1), "estimates": checks}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="toy")
    ap.add_argument("--method", default="occlusion", choices=("gradient", "occlusion"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    args = ap.parse_args(argv)

    import torch

    from demo.service import AppState
    from demo.service.config import parse_config
    from explain.model import load_detector
    from storage import Store

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config(["--data-dir", tmp, "--max-new-tokens", str(args.max_new_tokens)], {})
        app = AppState(load_detector(args.model, device="cpu"), Store.open(config.db_url, config.data_dir), config)
        pictures = sorted((ROOT / "assets" / "examples").glob("*.png"))
        load_before = os.getloadavg()
        rows = []
        for k in range(args.repeat):
            for i, picture in enumerate(pictures):
                row = run_once(app, picture, args.method, f"bench-{k}-{i}")
                row["load_avg_1min"] = round(os.getloadavg()[0], 2)
                rows.append(row)
                print(json.dumps(row), flush=True)
        app.close()
    print(f"\n{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {cpu_model()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}, {args.threads} threads, load average before {load_before[0]:.2f}\n")
    print("| picture | phrases | units | seconds | estimate / actual time left at 10 %, 25 %, 50 %, 75 % |")
    print("|---|---|---|---|---|")
    for r in rows:
        est = ", ".join(f"{v['estimate_s']} / {v['actual_s']}" for v in r["estimates"].values())
        print(f"| {r['picture']} | {r['phrases']} | {r['units']} | {r['seconds']} | {est} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
