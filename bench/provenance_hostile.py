"""Time and memory of provenance reading on hostile and on ordinary files.

    .venv/bin/python bench/provenance_hostile.py            # prints a table, writes the results file
    .venv/bin/python bench/provenance_hostile.py --no-write # prints only

Each case is built once, written to a temporary file, and read in a fresh Python process (so one
case's memory high-water mark cannot hide another's). In that process: one cold read (first call:
C2PA context set-up included), then `--repeat` warm reads for the median and maximum time, then
one read under tracemalloc for the Python-heap peak. The resident-set growth (ru_maxrss after the
reads minus before, the input already loaded) also counts native memory such as c2pa-rs's.

CPU only; nothing here needs a GPU. Results go to bench/PROVENANCE_RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from _machine import cpu_model  # bench/ is on sys.path when a bench script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.factories import provenance_samples as s  # noqa: E402


def _big_camera_jpeg() -> bytes:
    """A 24-megapixel camera-like JPEG (noise, quality 95, full EXIF): an honest large upload."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (4000, 6000, 3), dtype="uint8"))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=s.camera_exif(pixel_size=(6000, 4000)))
    return buf.getvalue()


CASES: dict[str, tuple[str, Callable[[], bytes]]] = {
    # ordinary files
    "camera_jpeg": ("camera JPEG with EXIF (96x64)", lambda: s.jpeg_bytes(exif=s.camera_exif())),
    "a1111_png": ("PNG with SD WebUI + ComfyUI chunks", lambda: s.png_bytes(
        text={"parameters": s.A1111_PARAMETERS, **s.comfyui_chunks()})),
    "c2pa_signed_jpeg": ("C2PA-signed JPEG (test cert)", lambda: s.sign_c2pa(s.jpeg_bytes(), "image/jpeg")),
    "big_camera_jpeg": ("24 MP camera JPEG, q95", _big_camera_jpeg),
    # hostile files
    "text_50mb": ("PNG with one 50 MB tEXt chunk", lambda: s.png_with_huge_text(50)),
    "chunks_10k": ("PNG with 10,000 tEXt chunks", lambda: s.png_with_many_chunks(10_000)),
    "chunks_100k": ("PNG with 100,000 tEXt chunks", lambda: s.png_with_many_chunks(100_000)),
    "ztxt_bomb_1gb": ("PNG zTXt inflating to 1 GB", lambda: s.png_with_ztxt_bomb(1024)),
    "xmp_nested_100k": ("XMP nested 100,000 deep (PNG iTXt)", lambda: s.png_bytes(xmp=s.xmp_nested(100_000))),
    "xmp_billion_laughs": ("billion-laughs XMP (JPEG APP1)", lambda: s.jpeg_bytes(xmp=s.xmp_billion_laughs())),
    "jumbf_malformed": ("JPEG with malformed C2PA JUMBF (APP11)", s.jpeg_with_malformed_jumbf),
    "cabx_garbage": ("PNG with garbage caBX (C2PA) chunk", s.png_with_garbage_c2pa),
    "c2pa_truncated": ("C2PA-signed JPEG cut mid-manifest", lambda: s.sign_c2pa(s.jpeg_bytes(), "image/jpeg")[:1500]),
    "exif_loop": ("EXIF directories looping, 65535 entries", s.tiff_exif_loop),
    "noise_8mb": ("8 MB of random bytes", lambda: os.urandom(8 * 1024 * 1024)),
}  # fmt: skip


def measure_in_child(path: str, repeat: int) -> dict:
    """Runs inside the fresh process: read the file `repeat + 2` times and report."""
    import c2pa  # noqa: F401 - loaded before the baseline so only reading work is counted

    from explain.provenance import read_provenance

    data = Path(path).read_bytes()
    hwm_reset = _reset_peak_rss()
    rss_before = _status_kib("VmRSS") if hwm_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    prov = read_provenance(data)
    cold = time.perf_counter() - t
    warm = []
    for _ in range(repeat):
        t = time.perf_counter()
        read_provenance(data)
        warm.append(time.perf_counter() - t)
    rss_after = _status_kib("VmHWM") if hwm_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    read_provenance(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "bytes": len(data),
        "cold_s": cold,
        "warm_median_s": statistics.median(warm),
        "warm_max_s": max(warm),
        "py_peak_bytes": peak,
        "rss_growth_kib": rss_after - rss_before,
        "rss_method": "VmHWM after clear_refs" if hwm_reset else "ru_maxrss (a lower bound)",
        "findings": [f"{f.kind}:{f.strength}/{f.points_to}" for f in prov.findings],
        "errors": list(prov.errors),
    }


def _reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def machine() -> str:
    cpu = cpu_model()
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="case names to run (default: all)")
    ap.add_argument("--no-write", action="store_true", help="do not write bench/PROVENANCE_RESULTS.md")
    ap.add_argument("--child", nargs=2, metavar=("PATH", "REPEAT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure_in_child(args.child[0], int(args.child[1]))))
        return 0

    import c2pa

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (label, build) in CASES.items():
            if args.only and name not in args.only:
                continue
            path = Path(tmp) / name
            path.write_bytes(build())
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path), str(args.repeat)],
                capture_output=True, text=True, timeout=600, cwd=ROOT,
            )  # fmt: skip
            if out.returncode != 0:
                print(f"{name}: child failed\n{out.stderr[-2000:]}", file=sys.stderr)
                return 1
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((name, label, r))
            print(
                f"{name:20s} {r['bytes'] / 1e6:8.2f} MB  cold {r['cold_s'] * 1e3:8.1f} ms  "
                f"warm {r['warm_median_s'] * 1e3:8.1f} ms (max {r['warm_max_s'] * 1e3:.1f})  "
                f"py-peak {r['py_peak_bytes'] / 1e6:6.2f} MB  rss+ {r['rss_growth_kib'] / 1024:6.1f} MiB"
            )
    if args.no_write:
        return 0
    cmd = "python bench/provenance_hostile.py" + (f" --repeat {args.repeat}" if args.repeat != 5 else "")
    lines = [
        "# Provenance reading: hostile and ordinary files",
        "",
        f"- Command: `{cmd}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {machine()}",
        f"- Python {platform.python_version()}, c2pa-python {c2pa.__version__} (c2pa-rs {c2pa.sdk_version()})",
        "- Default time budget of `read_provenance`: 2.0 s. Each case runs in a fresh process; "
        f"cold = first call, warm = median (max) of {args.repeat} further calls.",
        "- py peak = tracemalloc peak of one read (Python heap); RSS growth = peak resident set during "
        "the reads minus the resident set before them, input already in memory (includes native "
        f"c2pa-rs memory; measured as {rows[0][2]['rss_method'] if rows else '?'}).",
        "",
        "| case | input | cold | warm median (max) | py peak | RSS growth | what was reported |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, label, r in rows:
        said = "; ".join(r["findings"] + [f"error: {e}" for e in r["errors"]]) or "nothing"
        said = said.replace("|", "/")
        lines.append(
            f"| {label} (`{name}`) | {r['bytes'] / 1e6:.2f} MB | {r['cold_s'] * 1e3:.1f} ms | "
            f"{r['warm_median_s'] * 1e3:.1f} ({r['warm_max_s'] * 1e3:.1f}) ms | {r['py_peak_bytes'] / 1e6:.2f} MB | "
            f"{r['rss_growth_kib'] / 1024:.1f} MiB | {said[:400]} |"
        )
    from explain.provenance import limits

    lines += [
        "",
        "Caps in force (explain/provenance/limits.py): "
        + ", ".join(
            f"`{k}` = {v:,}" for k, v in vars(limits).items() if k.startswith("MAX_") and isinstance(v, int)
        )
        + ". The C2PA reader runs in a worker thread with a deadline (80% of what is left of the "
        "budget) and at most `MAX_CONCURRENT_READERS` overrunning readers at once.",
        "",
        "Machine load: the development machine is shared with other work, so single maxima can be "
        "outliers; medians are the numbers to compare.",
    ]
    out_path = ROOT / "bench" / "PROVENANCE_RESULTS.md"
    out_path.write_text("\n".join(lines) + "\n")
    print(f"wrote {out_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
