"""One app replica's writes, run as its own process by test_replicas.py: open the shared store
(PostgreSQL + the fsspec picture store), wait for the other replica, then save predictions and
consenting feedback with their pictures; print the feedback ids as JSON."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent / "storage")]

from storage_helpers import SECRET, Maker, png_bytes  # noqa: E402

from storage import Store  # noqa: E402


def main(db_url: str, data_dir: str, image_store: str, replica: int, own: int, shared: int, go: str) -> None:
    with Store.open(db_url, data_dir, secret=SECRET, image_store=image_store) as store:
        maker = Maker(store)
        visitor = maker.visitor(f"visitor-of-replica-{replica}")
        Path(go).with_suffix(f".ready{replica}").touch()
        while not Path(go).exists():  # both replicas write at the same time
            time.sleep(0.01)
        seeds = [10_000 * (replica + 1) + i for i in range(own)] + list(range(shared))  # shared: both write
        ids = []
        for seed in seeds:
            image = png_bytes(seed)
            pid = maker.prediction(visitor, image)
            ids.append(store.save_feedback(maker.feedback(pid, visitor, consent=True, corrected_explanation="This is a fake image. The skin looks overly smooth."), image_bytes=image))
    print(json.dumps(ids))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]), a[6])
