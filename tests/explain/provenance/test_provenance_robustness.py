"""Hostile and broken files: provenance reading never raises, stays bounded, and says what it skipped.

Timing bounds here are generous sanity limits (the measured numbers are in bench/PROVENANCE_RESULTS.md,
from bench/provenance_hostile.py).
"""

from __future__ import annotations

import random
import time
import tracemalloc

import pytest

from explain.provenance import Provenance, read_provenance
from tests.factories import provenance_samples as s

SANITY_S = 5.0
SANITY_PEAK_BYTES = 64 * 1024 * 1024


def bounded_read(data: bytes, **kw) -> Provenance:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        prov = read_provenance(data, **kw)
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < SANITY_S
    assert peak < SANITY_PEAK_BYTES, peak
    return prov


def test_fifty_megabyte_text_chunk_is_cut_not_swallowed():
    data = s.png_with_huge_text(50)
    prov = bounded_read(data)
    assert any("was cut to" in e for e in prov.errors)


def test_ten_thousand_chunks():
    prov = bounded_read(s.png_with_many_chunks(10_000))
    assert any("PNG text chunks past the first" in e for e in prov.errors)


def test_compressed_text_bomb_is_inflated_only_to_the_ceiling():
    prov = bounded_read(s.png_with_ztxt_bomb(64))  # 32x the ceiling; the bench uses 1 GB
    assert any("inflates past" in e for e in prov.errors)


def test_xmp_nested_a_hundred_thousand_deep():
    prov = bounded_read(s.png_bytes(xmp=s.xmp_nested(100_000)))
    assert any("deeper than" in e for e in prov.errors)


@pytest.mark.parametrize("build", [s.png_bytes, s.jpeg_bytes])
def test_billion_laughs(build):
    prov = bounded_read(build(xmp=s.xmp_billion_laughs()))
    assert any("DTD" in e for e in prov.errors)


def test_exif_directory_loop():
    prov = bounded_read(s.tiff_exif_loop())
    assert any("loop" in e for e in prov.errors)


def test_malformed_jumbf():
    prov = bounded_read(s.jpeg_with_malformed_jumbf())
    assert prov.of_kind("c2pa")[0].details["status"] == "unreadable"


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xd8", b"\x89PNG\r\n\x1a\n", b"RIFF\xff\xff\xff\xffWEBP", b"GIF89a", b"II*\x00\xff\xff\xff\xff",
     b"\x00\x00\x00\x18ftypheic", b"BM", bytes(range(256)) * 64, b"<x:xmpmeta>" * 1000],
    ids=["empty", "soi", "png-sig", "webp-lie", "gif", "tiff-lie", "heic", "bmp", "noise", "xmp-opens"],
)  # fmt: skip
def test_truncated_and_junk_inputs_never_raise(data):
    prov = bounded_read(data)
    assert isinstance(prov, Provenance)
    prov.to_json()


def test_not_bytes_is_an_error_not_an_exception():
    prov = read_provenance("not bytes")  # type: ignore[arg-type]
    assert prov.errors and prov.findings == ()


def test_random_corruptions_of_real_files_never_raise():
    rng = random.Random(1234)
    signed = s.sign_c2pa(s.jpeg_bytes(), "image/jpeg")
    bases = [
        signed,
        s.jpeg_bytes(exif=s.camera_exif(), xmp=s.xmp_packet({"Iptc4xmpExt:DigitalSourceType": s.AI_SOURCE})),
        s.png_bytes(text={"parameters": s.A1111_PARAMETERS, **s.comfyui_chunks()}, exif=s.camera_exif()),
        s.webp_bytes(exif=s.camera_exif(), xmp=s.xmp_packet({"photoshop:Credit": "Made with Google AI"})),
    ]
    for base in bases:
        for _ in range(40):
            data = bytearray(base)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            if rng.random() < 0.3:
                data = data[: rng.randrange(len(data))]
            prov = read_provenance(bytes(data), time_budget_s=2.0)
            assert isinstance(prov, Provenance)


def test_exhausted_time_budget_skips_the_rest_and_says_so():
    prov = read_provenance(s.jpeg_bytes(exif=s.camera_exif()), time_budget_s=0.0)
    assert any("time budget" in e and "camera data" in e for e in prov.errors)
    assert prov.of_kind("camera") == ()


def test_default_budget_is_ample_for_real_files():
    prov = read_provenance(s.jpeg_bytes(exif=s.camera_exif()))
    assert not any("time budget" in e for e in prov.errors)
    assert prov.of_kind("camera")
