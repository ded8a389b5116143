"""The picture part of `Store`: image rows and their files kept together, with consent only.

Bytes are written only through `put_image` or a consenting `save_feedback`, file first and then
the row that says it is there; they are dropped when the last consenting feedback on them
withdraws, or by `delete_image` (which on SQLite also scrubs the deleted content from the file).
Every write here is a job for the single writer thread (`_write`/`_submit`, storage.writer), and
files are removed only after a commit, in that thread, so a check of the rows before removing holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import validate
from .errors import ValidationError
from .images import ImageFiles
from .models import FEEDBACK, IMAGES, MAPS, PREDICTIONS, VOTES, Image, Prediction, utcnow
from .records import DeleteResult, ImageRef, SweepResult
from .writer import Tx

log = logging.getLogger(__name__)

# Built once: constructing a statement costs more than running it on SQLite.
_Q_IMAGE_WIDTH = select(IMAGES.c.width).where(IMAGES.c.sha256 == bindparam("sha"))
_Q_CONSENT_COVERS = (select(FEEDBACK.c.id).join(PREDICTIONS, FEEDBACK.c.prediction_id == PREDICTIONS.c.id)
                     .where(PREDICTIONS.c.image_sha256 == bindparam("sha"), FEEDBACK.c.consent.is_(True))
                     .limit(1))

DEFAULT_ORPHAN_GRACE_S = 300.0


class StoreImages:
    """Mixed into `Store`, which supplies what is declared here."""

    files: ImageFiles
    dialect: str
    _writer_engine: Engine
    _write: Callable[[Callable[[Tx], Any]], Any]
    _submit: Callable[[Callable[[Tx], Any]], Future[Any]]
    _read: Callable[[Callable[[Session], Any]], Any]

    # ------------------------------------------------------------------ inside the writer's jobs

    def _ensure_image(self, conn: Connection, sha: str, fmt: str, width: int | None,
                      height: int | None) -> None:
        """Insert the image row if absent; safe against another process inserting it concurrently."""
        row = conn.execute(_Q_IMAGE_WIDTH, {"sha": sha}).first()
        if row is None:
            values = {"sha256": sha, "format": fmt, "width": width, "height": height, "created_at": utcnow()}
            name = conn.dialect.name
            if name == "sqlite":
                conn.execute(sqlite.insert(IMAGES).on_conflict_do_nothing(), values)
            elif name == "postgresql":
                conn.execute(postgresql.insert(IMAGES).on_conflict_do_nothing(), values)
            else:
                conn.execute(IMAGES.insert(), values)
        elif row.width is None and width is not None:
            conn.execute(update(IMAGES).where(IMAGES.c.sha256 == sha).values(width=width, height=height))

    def _store_bytes(self, tx: Tx, data: bytes, fmt: str, width: int | None, height: int | None) -> ImageRef:
        """File first (atomic), then the row that says it is there."""
        sha, _path = self.files.write(data)
        conn = tx.conn
        self._ensure_image(conn, sha, fmt, width, height)
        conn.execute(update(IMAGES).where(IMAGES.c.sha256 == sha).values(
            stored_path=self.files.rel_path(sha), size_bytes=len(data),
            stored_at=func.coalesce(IMAGES.c.stored_at, utcnow())))
        img = conn.execute(select(IMAGES).where(IMAGES.c.sha256 == sha)).one()
        return ImageRef(img.sha256, img.format, img.width, img.height, True, img.size_bytes)

    def _unlink_if_unreferenced(self, sha: str) -> bool:
        """After a commit: remove the file unless a row (maybe written since) says it is stored.
        Runs in the writer thread, which is the only one that writes files, so the check holds."""
        with self._writer_engine.connect() as conn:
            stored = conn.execute(select(IMAGES.c.stored_path).where(IMAGES.c.sha256 == sha)).scalar()
        if stored is not None:
            return False
        return self.files.remove(sha)

    def _scrub_sqlite(self) -> None:
        """Copy the WAL into the main file and truncate it, so deleted content is not left in the
        WAL (secure_delete has already zeroed it in the pages)."""
        if self.dialect != "sqlite":
            return
        raw = self._writer_engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cur.fetchall()
            cur.close()
        finally:
            raw.close()

    # ------------------------------------------------------------------ writes

    def put_image(self, data: bytes, fmt: str, *, width: int | None = None,
                  height: int | None = None) -> ImageRef:
        """Keep the image bytes, byte-exact, under their sha256. Call only with the visitor's consent."""
        return self._write(self._put_image_job(data, fmt, width, height))

    def put_image_async(self, data: bytes, fmt: str, *, width: int | None = None,
                        height: int | None = None) -> Future[ImageRef]:
        return self._submit(self._put_image_job(data, fmt, width, height))

    def _put_image_job(self, data: bytes, fmt: str, width: int | None, height: int | None) -> Callable[[Tx], ImageRef]:
        fmt = validate.image_format(fmt)
        if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
            raise ValidationError("image data must be non-empty bytes")
        if len(data) > validate.MAX_IMAGE_BYTES:
            raise ValidationError(f"image is too large to keep ({len(data)} bytes)")
        if width is not None:
            validate.integer(width, "image width", 1, validate.MAX_IMAGE_SIDE)
        if height is not None:
            validate.integer(height, "image height", 1, validate.MAX_IMAGE_SIDE)
        data = bytes(data)
        return lambda tx: self._store_bytes(tx, data, fmt, width, height)

    def _drop_unconsented(self, tx: Tx, sha: str) -> None:
        """The bytes are kept and this feedback says no consent: drop them unless another
        consenting feedback on the same image still covers them."""
        conn = tx.conn
        if conn.execute(_Q_CONSENT_COVERS, {"sha": sha}).first():
            return
        conn.execute(update(IMAGES).where(IMAGES.c.sha256 == sha)
                     .values(stored_path=None, size_bytes=None, stored_at=None))
        tx.on_commit(lambda: self._unlink_if_unreferenced(sha))

    def delete_image(self, sha256: str) -> DeleteResult:
        """Remove an image and everything derived from it: its predictions, their maps and feedback,
        the image row and the file (a visitor's removal request). Returns what was removed."""
        sha = validate.sha256_hex(sha256)

        def job(tx: Tx) -> DeleteResult:
            conn = tx.conn
            P, F = PREDICTIONS.c, FEEDBACK.c  # noqa: N806
            pred_ids = select(P.id).where(P.image_sha256 == sha).scalar_subquery()
            fb_ids = select(F.id).where(F.prediction_id.in_(pred_ids)).scalar_subquery()

            def count(table: Any, cond: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(table).where(cond)).scalar() or 0)

            n_fb = count(FEEDBACK, F.prediction_id.in_(pred_ids))
            n_maps = count(MAPS, MAPS.c.prediction_id.in_(pred_ids))
            n_pred = count(PREDICTIONS, P.image_sha256 == sha)
            n_img = count(IMAGES, IMAGES.c.sha256 == sha)
            # Children first, so the result does not depend on ON DELETE CASCADE being enforced.
            conn.execute(delete(VOTES).where(VOTES.c.feedback_id.in_(fb_ids)))
            conn.execute(delete(FEEDBACK).where(F.prediction_id.in_(pred_ids)))
            conn.execute(delete(MAPS).where(MAPS.c.prediction_id.in_(pred_ids)))
            conn.execute(delete(PREDICTIONS).where(P.image_sha256 == sha))
            conn.execute(delete(IMAGES).where(IMAGES.c.sha256 == sha))
            tx.on_commit(lambda: outcome.update(file=self._unlink_if_unreferenced(sha)))
            tx.on_commit(self._scrub_sqlite)
            return DeleteResult(sha, n_img, n_pred, n_maps, n_fb, file_removed=False)

        outcome: dict[str, bool] = {}
        result = self._write(job)
        return replace(result, file_removed=outcome.get("file", False))

    def sweep_orphans(self, grace_s: float = DEFAULT_ORPHAN_GRACE_S) -> SweepResult:
        """Remove image files with no row and stale temp files (older than `grace_s`), and mark
        rows whose file has vanished as not stored. Runs at open; safe to run any time."""

        def job(tx: Tx) -> SweepResult:
            stored = set(tx.conn.execute(select(IMAGES.c.sha256).where(IMAGES.c.stored_path.is_not(None)))
                         .scalars())
            missing = {sha for sha in stored if not self.files.exists(sha)}
            if missing:
                tx.conn.execute(update(IMAGES).where(IMAGES.c.sha256.in_(missing))
                                .values(stored_path=None, size_bytes=None, stored_at=None))
            orphans, temps = self.files.sweep(stored - missing, grace_s)
            return SweepResult(orphans, temps, len(missing))

        result = self._write(job)
        if result.orphan_files_removed or result.temp_files_removed or result.missing_files:
            log.warning("storage sweep: %s", result)
        return result

    # ------------------------------------------------------------------ reads

    def get_image(self, sha256: str, client_hash: str) -> bytes | None:
        """The stored bytes of an image, if this visitor has a prediction on it and they are kept."""
        sha = validate.sha256_hex(sha256)
        ch = validate.sha256_hex(client_hash, "client hash")
        owns = self._read(lambda s: s.scalar(select(func.count()).select_from(Prediction).where(
            Prediction.image_sha256 == sha, Prediction.client_hash == ch)))
        return self._image_bytes(sha) if owns else None

    def reviewer_get_image(self, sha256: str) -> bytes | None:
        return self._image_bytes(validate.sha256_hex(sha256))

    def _image_bytes(self, sha: str) -> bytes | None:
        stored = self._read(lambda s: s.scalar(select(Image.stored_path).where(Image.sha256 == sha)))
        return self.files.read(sha) if stored else None
