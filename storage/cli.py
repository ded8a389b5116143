"""`python -m storage {export,push,delete,stats,check}`: the store's command line for operators.

Database and data folder come from --db / --data-dir, else env SPOT_DB_URL / SPOT_DATA_DIR, else
the app's defaults (storage.db.default_url: `<data dir>/spot.sqlite3`, data dir ./data). User errors print one line on stderr and exit 1 (2 for bad
arguments); there is no traceback for anything a user can cause.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import db
from .errors import StorageError
from .export import FORMATS, export
from .hub import push
from .store import Store

# The CLI never pseudonymises visitors, so it must not create the app's key file as a side effect.
_CLI_SECRET = b"storage-cli-computes-no-client-hashes"


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=os.environ.get("SPOT_DB_URL") or None, metavar="URL",
                        help=f"SQLAlchemy database URL (env SPOT_DB_URL; default the app's: {db.DB_FILE} "
                             "in the data folder)")
    common.add_argument("--data-dir", default=os.environ.get("SPOT_DATA_DIR") or str(db.default_data_dir()),
                        metavar="DIR", help="folder with the stored images (env SPOT_DATA_DIR; default %(default)s)")
    common.add_argument("--image-store", default=os.environ.get("SPOT_IMAGE_STORE") or None, metavar="URL",
                        help="fsspec URL of the shared picture store (env SPOT_IMAGE_STORE; default: the data folder's)")

    p = argparse.ArgumentParser(prog="spot-storage", description="Spot the Fake feedback store.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    e = sub.add_parser("export", parents=[common], help="export consented feedback for fine-tuning")
    e.add_argument("--format", required=True, choices=FORMATS)
    e.add_argument("--out", required=True, metavar="DIR", help="new or empty folder to write to")
    e.add_argument("--accepted-only", action="store_true", help="only feedback a reviewer accepted")
    e.add_argument("--include-comments", action="store_true", help="also export visitors' free-text comments")

    u = sub.add_parser("push", help="upload an export folder to a Hugging Face dataset repository")
    u.add_argument("--repo", required=True, metavar="OWNER/NAME")
    u.add_argument("--dir", required=True, metavar="DIR", help="a folder written by `export`")
    u.add_argument("--public", action="store_true", help="create the repository public (default: private)")
    u.add_argument("--message", default="Add Spot the Fake feedback export")

    d = sub.add_parser("delete", parents=[common], help="remove an image and everything derived from it")
    d.add_argument("--image", required=True, metavar="SHA256")

    s = sub.add_parser("stats", parents=[common], help="counts by verdict, feedback, agreement and review")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")

    sub.add_parser("check", parents=[common], help="check database integrity and image files")
    return p


def _open(args: argparse.Namespace) -> Store:
    url = db.parse_url(args.db or db.default_url(args.data_dir))
    if url.get_backend_name() == "sqlite" and url.database and not url.database.startswith("file:") \
            and not Path(url.database).exists():
        raise StorageError(f"no database at {url.database} (check --db or SPOT_DB_URL)")
    return Store.open(url, args.data_dir, secret=_CLI_SECRET, image_store=args.image_store)


def _print_stats(store: Store, as_json: bool) -> None:
    st = store.stats()
    if as_json:
        print(json.dumps(st.as_dict(), indent=2, sort_keys=True))
        return

    def line(title: str, counts: dict[str, int]) -> str:
        body = ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"
        return f"{title:<22}{body}"

    print(line("predictions", {"total": st.predictions, **st.predictions_by_verdict}))
    print(line("feedback", {"total": st.feedback, "with consent": st.consented_feedback}))
    print(line("verdict judged", st.feedback_by_verdict))
    print(line("true labels", st.true_labels))
    print(line("phrase agreement", {"agree": st.phrase_votes.get("agree", 0),
                                    "disagree": st.phrase_votes.get("disagree", 0)}))
    print(line("review", st.review_states))
    print(line("categories", st.categories))
    print(line("images", {"known": st.images, "stored": st.images_stored, "bytes": st.stored_bytes}))


def run(args: argparse.Namespace) -> int:
    if args.command == "push":
        url = push(args.dir, args.repo, private=not args.public, message=args.message)
        print(f"pushed {args.dir} to dataset {args.repo}: {url}")
        return 0
    with _open(args) as store:
        if args.command == "export":
            report = export(store.export_rows(accepted_only=args.accepted_only), args.format, args.out,
                            include_comments=args.include_comments)
            print(report.summary())
        elif args.command == "delete":
            res = store.delete_image(args.image)
            if not (res.images or res.predictions or res.feedback or res.file_removed):
                print(f"error: nothing is stored for image {res.sha256}; nothing deleted", file=sys.stderr)
                return 1
            print(f"deleted image {res.sha256}: {res.images} image row(s), {res.predictions} prediction(s), "
                  f"{res.maps} map(s), {res.feedback} feedback record(s); "
                  f"file {'removed' if res.file_removed else 'was not stored'}")
        elif args.command == "stats":
            _print_stats(store, args.json)
        elif args.command == "check":
            problems = store.check()
            for p in problems:
                print(p)
            print("ok" if not problems else f"{len(problems)} problem(s)")
            return 1 if problems else 0
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except StorageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
