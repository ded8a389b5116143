"""`python -m explain.provenance FILE [FILE ...] [--json] [--c2pa-trust PATH]`: the evidence alone.

No model is loaded and the picture is never decoded, so it works on any file, including those the
model refuses (too small, odd formats, not a picture at all). With --json, one JSON object per line
per file; a file that cannot be read never stops the batch. Exit status: 0 when every file was
read, 1 when any could not be (missing, unreadable, too large), 2 for unusable trust settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import read_provenance
from .limits import MAX_SCAN_BYTES
from .trust import load_trust

MAX_FILE_BYTES = 4 * MAX_SCAN_BYTES  # metadata lives in the first 64 MB; the hash wants the rest


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m explain.provenance",
                                description="What a file's own metadata says about its origin.")  # fmt: skip
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON line per file")
    p.add_argument("--c2pa-trust", default=os.environ.get("SPOT_C2PA_TRUST") or None,
                   help="PEM trust anchors, or a folder with anchors.pem / allowed.pem / store.cfg "
                        "[env SPOT_C2PA_TRUST]")  # fmt: skip
    p.add_argument("--time-budget", type=float, default=2.0, help="seconds per file (default 2)")
    return p


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return data


def _print_readable(path: str, prov: dict, out) -> None:
    print(f"{path}: {prov['file_format']}, {len(prov['findings'])} findings", file=out)
    for f in prov["findings"]:
        print(f"  [{f['strength']}, points to {f['points_to']}] {f['title']}", file=out)
        print(f"      {f['meaning']}", file=out)
    for e in prov["errors"]:
        print(f"  note: {e}", file=out)


def main(argv: list[str] | None = None, out=None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        trust = load_trust(args.c2pa_trust)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for path in args.files:
        try:
            data = _read(path)
        except (OSError, ValueError) as exc:
            failed += 1
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if args.json:
                print(json.dumps({"file": path, "error": why}), file=out, flush=True)
            else:
                print(f"{path}: cannot read: {why}", file=out, flush=True)
            continue
        prov = read_provenance(data, time_budget_s=args.time_budget, c2pa_trust=trust).to_json()
        if args.json:
            print(json.dumps({"file": path, "bytes": len(data), **prov}), file=out, flush=True)
        else:
            _print_readable(path, prov, out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
