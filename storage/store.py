"""`Store`: the feedback store the app talks to. Plain records in, plain records out.

Writes go through the single writer thread (storage.writer); each public write method waits for
its commit, and has an `_async` twin that returns a Future so the UI thread need not wait. Reads
use a separate connection pool and never wait for the writer (WAL on SQLite, MVCC on PostgreSQL).

Privacy rules kept here, not left to the caller:
- visitor reads take the visitor's `client_hash` and return only that visitor's rows; reviewer
  reads are separate methods (`reviewer_*`) that the UI exposes only to authenticated reviewers;
- image bytes are written only through `put_image` or `save_feedback(..., image_bytes=...)` with
  consent, and dropped again when the last consenting feedback on them withdraws consent;
- `delete_image` removes an image and everything derived from it, and on SQLite scrubs the
  deleted content from the file (secure_delete + WAL checkpoint).

Its parts: storage.store_images (image rows and files, sweeps, deletes), storage.store_writes
(predictions, maps, feedback, reviews), storage.store_reads (visitor and reviewer reads, stats,
export rows), storage.shares (share links); this module opens and closes it, holds the writer and
reader plumbing, and checks.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from . import db
from .errors import ConfigError, SchemaError, StorageError
from .identity import client_hash as _client_hash
from .identity import load_secret
from .image_store import open_image_files
from .models import Image
from .records import SweepResult
from .shares import StoreShares
from .store_images import DEFAULT_ORPHAN_GRACE_S, StoreImages
from .store_reads import StoreReads
from .store_writes import StoreWrites
from .writer import Tx, Writer

T = TypeVar("T")


class Store(StoreImages, StoreWrites, StoreReads, StoreShares):
    """The feedback store. Open with `Store.open(url, data_dir)`; close with `close()` (or `with`)."""

    def __init__(
        self,
        url: str | URL,
        data_dir: str | Path,
        *,
        secret: bytes | None = None,
        image_store: str | None = None,
        upgrade: bool = True,
        sweep: bool = True,
        orphan_grace_s: float = DEFAULT_ORPHAN_GRACE_S,
        write_timeout_s: float = 30.0,
        busy_timeout_ms: int = db.DEFAULT_BUSY_TIMEOUT_MS,
        max_batch: int = 64,
    ) -> None:
        self.url = db.parse_url(url)
        self.data_dir = Path(data_dir).absolute()
        self.files = open_image_files(self.data_dir, image_store)  # an fsspec URL shared by replicas, or local
        self.write_timeout_s = write_timeout_s
        # The database first: an unreachable server should leave no folders behind.
        if upgrade:
            self.schema_revision = db.upgrade(self.url, busy_timeout_ms=busy_timeout_ms)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create the data folder {self.data_dir}: {err.strerror}") from None
        self.secret = secret if secret is not None else load_secret(self.data_dir)
        self._reader = db.make_engine(self.url, role="reader", busy_timeout_ms=busy_timeout_ms)
        self._writer_engine = db.make_engine(self.url, role="writer", busy_timeout_ms=busy_timeout_ms)
        try:
            current = db.current_revision(self._reader)
        except DBAPIError as err:
            self._dispose()
            raise ConfigError(db.describe_db_error(self.url, err)) from None
        if not upgrade:
            head = db.head_revision()
            if current != head:
                self._dispose()
                raise SchemaError(f"the database schema is at revision {current!r}, not {head!r}; "
                                  "open it with upgrade=True to migrate")
            self.schema_revision = current
        self._writer = Writer(self._writer_engine, max_batch=max_batch)
        try:
            self.last_sweep: SweepResult | None = self.sweep_orphans(orphan_grace_s) if sweep else None
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, url: str | URL, data_dir: str | Path, **kwargs: Any) -> Store:
        """Open (creating if needed) and upgrade the database to the newest schema, then sweep
        files left by a crash. Keyword arguments are those of `Store(...)`."""
        return cls(url, data_dir, **kwargs)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({db.safe_url(self.url)!r}, {str(self.data_dir)!r})"

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    def close(self) -> None:
        """Finish queued writes, then release connections. Idempotent."""
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.close()
        self._dispose()

    def _dispose(self) -> None:
        for engine in (getattr(self, "_reader", None), getattr(self, "_writer_engine", None)):
            if engine is not None:
                engine.dispose()

    def client_hash(self, raw_id: str) -> str:
        """The pseudonymous id of a visitor under this store's secret key."""
        return _client_hash(raw_id, self.secret)

    # ------------------------------------------------------------------ plumbing
    # Every write of every part (storage.classroom's too) is a job through these two, so the one
    # writer thread stays the only place that writes rows or files.

    def _submit(self, job: Callable[[Tx], T]) -> Future[T]:
        return self._writer.submit(job)

    def _write(self, job: Callable[[Tx], T]) -> T:
        return self._writer.call(job, self.write_timeout_s)

    def _read(self, fn: Callable[[Session], T]) -> T:
        try:
            with Session(self._reader) as session:
                return fn(session)
        except DBAPIError as err:
            raise StorageError(db.describe_db_error(self.url, err)) from None

    def check(self) -> list[str]:
        """Problems found (empty list: healthy): SQLite integrity and foreign-key checks, stored rows
        whose file is missing or altered, and files with no row."""
        problems: list[str] = []
        with self._reader.connect() as conn:
            if conn.dialect.name == "sqlite":
                res = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
                if res != ["ok"]:
                    problems += [f"integrity_check: {r}" for r in res]
                fk = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                problems += [f"foreign_key_check: {tuple(r)}" for r in fk]
            stored = dict(conn.execute(select(Image.sha256, Image.size_bytes)
                                       .where(Image.stored_path.is_not(None))).all())
        return problems + self.files.check(stored)

