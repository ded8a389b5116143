"""What the batch scheduler records about how many streams really ran together: `max_batch`, and one
INFO line per new high, which the app's log carries (bench/batch_app_bench.py reads it)."""

from __future__ import annotations

import io
import logging
import threading

from PIL import Image

from bench.batch_app_bench import HIGH_LINE, batch_seen  # what the end-to-end benchmark parses
from explain.decoding import BatchScheduler
from tests.conftest import png_bytes


def _inputs(det, seed):
    return det.prepare(Image.open(io.BytesIO(png_bytes(300 + 20 * seed, 280, seed))).convert("RGB"))


def test_each_new_high_of_streams_in_one_step_is_logged_once(tiny_detector, caplog):
    det = tiny_detector
    vids = (det.verdict_ids["real"], det.verdict_ids["fake"])
    sched = BatchScheduler(det.model, slots=4)
    started, release = threading.Event(), threading.Event()

    def hold():  # keeps the scheduler thread busy while three streams are submitted
        started.set()
        release.wait(timeout=60)

    try:
        with caplog.at_level(logging.INFO, logger="explain.decoding.scheduler"):
            holder = threading.Thread(target=sched.call, args=(hold,))
            holder.start()
            assert started.wait(timeout=60)
            # longest first, so the cache built for the first one fits the other two
            handles = [sched.submit(_inputs(det, i), max_new_tokens=n, verdict_ids=vids)
                       for i, n in enumerate((28, 20, 12))]  # fmt: skip
            release.set()
            holder.join(timeout=60)
            lengths = [len(list(h)) for h in handles]
            alone = len(list(sched.submit(_inputs(det, 5), max_new_tokens=10, verdict_ids=vids)))
            stats = sched.describe()
    finally:
        release.set()
        sched.close()
    assert lengths == [28, 20, 12] and alone == 10
    highs = [int(m.group(1)) for r in caplog.records if (m := HIGH_LINE.search(r.getMessage()))]
    # the three waiting streams are admitted together and share the first step; fewer later, and the
    # lone stream after them sets no new high
    assert highs == [3]
    assert stats["max_batch"] == 3
    app_log = "\n".join(r.getMessage() for r in caplog.records)
    assert batch_seen(app_log)["max_streams_in_one_step"] == 3
