"""The results cache holds what it counts: uploads AND their decoded pictures stay under the cap."""

from __future__ import annotations

import io

import psutil
from PIL import Image

from demo.service.results import Analysis, ResultsCache, held_bytes
from explain.intake import IntakeLimits, check_image
from explain.types import Explanation, Timings


def _flat_png(side: int, shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (side, side), (shade, 90, 140)).save(buf, "PNG")
    return buf.getvalue()  # a few KB on disk, side * side * 3 bytes once decoded


def _analysis(pid: int, data: bytes) -> Analysis:
    checked = check_image(data, IntakeLimits(max_bytes=len(data) + 1, max_pixels=50_000_000))
    return Analysis(pid, "owner", checked, data, Explanation("This is a real image.", (), "real", 0.1, (), Timings()), None)


def test_decoded_pictures_count_toward_the_cap():
    data = _flat_png(3000, 10)
    assert len(data) < 200_000  # small upload ...
    one = held_bytes(_analysis(1, data).checked, data)
    assert one > 27_000_000  # ... large picture in memory
    cache = ResultsCache(max_items=64, max_bytes=3 * one)
    for pid in range(1, 13):
        cache.remember(_analysis(pid, _flat_png(3000, pid)))
        assert cache.held_bytes() <= 3 * one
    assert cache.get(12) is not None and cache.get(9) is None  # the newest stay, the oldest went


def test_memory_reaches_a_plateau_under_large_pictures():
    """Twelve 6000 x 6000 pictures through a 256 MiB cache: resident memory stops growing."""
    proc = psutil.Process()
    cache = ResultsCache(max_items=64, max_bytes=256 * 1024 * 1024)
    rss = []
    for pid in range(1, 13):
        cache.remember(_analysis(pid, _flat_png(6000, pid)))
        rss.append(proc.memory_info().rss)
    assert cache.held_bytes() <= 256 * 1024 * 1024
    # after the cache has filled (two pictures of 108 MB), more pictures add nothing lasting
    growth = max(rss[6:]) - rss[5]
    assert growth < 150 * 1024 * 1024, [r // 2**20 for r in rss]

