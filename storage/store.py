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
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, and_, bindparam, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from . import db, validate
from .errors import ConfigError, NotFound, SchemaError, StorageError, ValidationError
from .identity import client_hash as _client_hash
from .identity import load_secret
from .images import ImageFiles
from .models import Feedback, Image, PhraseMapRow, PhraseVote, Prediction, pack_grid, unpack_grid, utcnow
from .records import (
    REVIEW_STATES,
    DeleteResult,
    ExportRow,
    FeedbackFilter,
    FeedbackIn,
    FeedbackOut,
    ImageRef,
    MapIn,
    MapOut,
    PhraseSpan,
    PredictionIn,
    PredictionOut,
    Stats,
    SweepResult,
)
from .writer import Tx, Writer

log = logging.getLogger(__name__)
T = TypeVar("T")

# Core tables for the hot write paths (the ORM unit of work costs ~1 ms a flush).
IMAGES = Image.__table__
PREDICTIONS = Prediction.__table__
FEEDBACK = Feedback.__table__
VOTES = PhraseVote.__table__
MAPS = PhraseMapRow.__table__
_FB_FIELDS = ("verdict_correct", "true_label", "corrected_explanation", "category", "comment", "consent")
# Built once: constructing a statement costs more than running it on SQLite.
_Q_IMAGE_WIDTH = select(IMAGES.c.width).where(IMAGES.c.sha256 == bindparam("sha"))
# Everything a feedback write needs to decide, in one round trip: the prediction (and whose it
# is), the visitor's existing feedback on it if any, and whether the image bytes are kept.
_Q_FEEDBACK_CONTEXT = (
    select(PREDICTIONS.c.client_hash, PREDICTIONS.c.verdict, PREDICTIONS.c.phrases, PREDICTIONS.c.image_sha256,
           IMAGES.c.stored_path, IMAGES.c.format, FEEDBACK.c.id.label("fb_id"),
           *(FEEDBACK.c[k].label(f"fb_{k}") for k in _FB_FIELDS))
    .join(IMAGES, IMAGES.c.sha256 == PREDICTIONS.c.image_sha256)
    .outerjoin(FEEDBACK, (FEEDBACK.c.prediction_id == PREDICTIONS.c.id) & (FEEDBACK.c.client_hash == bindparam("ch")))
    .where(PREDICTIONS.c.id == bindparam("pid")))
_Q_VOTES = select(VOTES.c.phrase_index, VOTES.c.vote).where(VOTES.c.feedback_id == bindparam("fid"))
_Q_CONSENT_COVERS = (select(FEEDBACK.c.id).join(PREDICTIONS, FEEDBACK.c.prediction_id == PREDICTIONS.c.id)
                     .where(PREDICTIONS.c.image_sha256 == bindparam("sha"), FEEDBACK.c.consent.is_(True))
                     .limit(1))

DEFAULT_ORPHAN_GRACE_S = 300.0


class Store:
    """The feedback store. Open with `Store.open(url, data_dir)`; close with `close()` (or `with`)."""

    def __init__(
        self,
        url: str | URL,
        data_dir: str | Path,
        *,
        secret: bytes | None = None,
        upgrade: bool = True,
        sweep: bool = True,
        orphan_grace_s: float = DEFAULT_ORPHAN_GRACE_S,
        write_timeout_s: float = 30.0,
        busy_timeout_ms: int = db.DEFAULT_BUSY_TIMEOUT_MS,
        max_batch: int = 64,
    ) -> None:
        self.url = db.parse_url(url)
        self.data_dir = Path(data_dir).absolute()
        self.files = ImageFiles(self.data_dir)
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

    def save_prediction(self, p: PredictionIn) -> int:
        """Record a detector run; returns the prediction id. The image bytes are not kept here."""
        return self._write(self._prediction_job(p))

    def save_prediction_async(self, p: PredictionIn) -> Future[int]:
        return self._submit(self._prediction_job(p))

    def _prediction_job(self, p: PredictionIn) -> Callable[[Tx], int]:
        if not isinstance(p, PredictionIn):
            raise ValidationError("save_prediction takes a PredictionIn record")
        v = validate.prediction(p)

        def job(tx: Tx) -> int:
            self._ensure_image(tx.conn, v["image_sha256"], v["image_format"], v["image_width"],
                               v["image_height"])
            cols = ("image_sha256", "client_hash", "model_id", "model_revision", "prompt", "text",
                    "verdict", "p_fake", "phrases", "timings", "provenance")
            res = tx.conn.execute(
                PREDICTIONS.insert(), {**{k: v[k] for k in cols}, "created_at": utcnow()})
            return int(res.inserted_primary_key[0])

        return job

    def save_maps(self, prediction_id: int, maps: Iterable[MapIn]) -> int:
        """Store phrase maps for a prediction (replacing any with the same phrase and method);
        returns how many were written."""
        return self._write(self._maps_job(prediction_id, maps))

    def save_maps_async(self, prediction_id: int, maps: Iterable[MapIn]) -> Future[int]:
        return self._submit(self._maps_job(prediction_id, maps))

    def _maps_job(self, prediction_id: int, maps: Iterable[MapIn]) -> Callable[[Tx], int]:
        pid = validate.integer(prediction_id, "prediction id", 1, 2**63 - 1)
        items = list(maps) if not isinstance(maps, (str, bytes)) else None
        if items is None:
            raise ValidationError("maps must be a list of MapIn records")
        by_key = {}
        for m in items:
            v = validate.phrase_map(m)
            by_key[(v["phrase_index"], v["method"])] = v

        def job(tx: Tx) -> int:
            conn = tx.conn
            if conn.execute(select(PREDICTIONS.c.id).where(PREDICTIONS.c.id == pid)).first() is None:
                raise NotFound(f"no prediction {pid}")
            now = utcnow()
            for (index, method), v in by_key.items():
                # Replace, so a map recomputed with the same method overwrites the old one.
                conn.execute(delete(MAPS).where(MAPS.c.prediction_id == pid, MAPS.c.phrase_index == index,
                                                MAPS.c.method == method))
                x0, y0, x1, y1 = v["crop_box"]
                conn.execute(MAPS.insert(), {
                    "prediction_id": pid, "phrase_index": index, "method": method,
                    "rows": len(v["grid"]), "cols": len(v["grid"][0]), "grid": pack_grid(v["grid"]),
                    "crop_x0": x0, "crop_y0": y0, "crop_x1": x1, "crop_y1": y1,
                    "score": v["score"], "reliance": v["reliance"], "deletion_auc": v["deletion_auc"],
                    "insertion_auc": v["insertion_auc"], "created_at": now})
            return len(by_key)

        return job

    def save_feedback(self, fb: FeedbackIn, image_bytes: bytes | None = None) -> int:
        """Create or update (same prediction, same visitor) a feedback record; returns its id.

        With `consent=True` and `image_bytes`, the image is kept in the same transaction (the bytes
        must be those of the prediction's image). With `consent=False`, the image bytes are dropped
        unless another visitor's consenting feedback still covers them. Editing feedback that was
        already reviewed puts it back to "pending".
        """
        return self._write(self._feedback_job(fb, image_bytes))

    def save_feedback_async(self, fb: FeedbackIn, image_bytes: bytes | None = None) -> Future[int]:
        return self._submit(self._feedback_job(fb, image_bytes))

    def _feedback_job(self, fb: FeedbackIn, image_bytes: bytes | None) -> Callable[[Tx], int]:
        v = validate.feedback(fb)
        data: bytes | None = None
        if image_bytes is not None and v["consent"]:
            if not isinstance(image_bytes, (bytes, bytearray, memoryview)) or not image_bytes:
                raise ValidationError("image bytes must be non-empty bytes")
            if len(image_bytes) > validate.MAX_IMAGE_BYTES:
                raise ValidationError(f"image is too large to keep ({len(image_bytes)} bytes)")
            data = bytes(image_bytes)

        fields = _FB_FIELDS

        def job(tx: Tx) -> int:
            conn = tx.conn
            F, V = FEEDBACK.c, VOTES.c  # noqa: N806
            pred = conn.execute(_Q_FEEDBACK_CONTEXT, {"pid": v["prediction_id"], "ch": v["client_hash"]}).first()
            if pred is None or pred.client_hash != v["client_hash"]:
                # The same answer for "missing" and "someone else's": no probing of others' ids.
                raise NotFound(f"no prediction {v['prediction_id']} for this visitor")
            problem = validate.label_contradiction(pred.verdict, v["verdict_correct"], v["true_label"])
            if problem:
                raise ValidationError(problem)
            n_phrases = len(pred.phrases or [])
            for idx in v["phrase_votes"]:
                if n_phrases and idx >= n_phrases:
                    raise ValidationError(f"vote on phrase {idx}, but the answer has {n_phrases} phrases")
            stored = pred.stored_path is not None
            if data is not None:
                if hashlib.sha256(data).hexdigest() != pred.image_sha256:
                    raise ValidationError("the image bytes given are not those of this prediction's image")
                self._store_bytes(tx, data, pred.format, None, None)
                stored = True

            now = utcnow()
            new = {k: v[k] for k in fields}
            if pred.fb_id is None:
                res = conn.execute(FEEDBACK.insert(), {
                    **new, "prediction_id": v["prediction_id"], "client_hash": v["client_hash"],
                    "created_at": now, "updated_at": now, "review_state": "pending"})
                fid = int(res.inserted_primary_key[0])
                changed = True
            else:
                fid = pred.fb_id
                old_votes = dict(conn.execute(_Q_VOTES, {"fid": fid}).all())
                changed = any(getattr(pred, f"fb_{k}") != new[k] for k in fields) or old_votes != v["phrase_votes"]
                if changed:
                    # An edit after review goes back to the reviewers.
                    conn.execute(update(FEEDBACK).where(F.id == fid).values(
                        **new, updated_at=now, review_state="pending", reviewed_by=None, reviewed_at=None))
                    conn.execute(delete(VOTES).where(V.feedback_id == fid))
            if changed and v["phrase_votes"]:
                conn.execute(VOTES.insert(), [{"feedback_id": fid, "phrase_index": i, "vote": vote}
                                              for i, vote in sorted(v["phrase_votes"].items())])
            if not v["consent"] and stored:
                self._drop_unconsented(tx, pred.image_sha256)
            return fid

        return job

    def _drop_unconsented(self, tx: Tx, sha: str) -> None:
        """The bytes are kept and this feedback says no consent: drop them unless another
        consenting feedback on the same image still covers them."""
        conn = tx.conn
        if conn.execute(_Q_CONSENT_COVERS, {"sha": sha}).first():
            return
        conn.execute(update(IMAGES).where(IMAGES.c.sha256 == sha)
                     .values(stored_path=None, size_bytes=None, stored_at=None))
        tx.on_commit(lambda: self._unlink_if_unreferenced(sha))

    def review(self, feedback_id: int, state: str, reviewer: str) -> None:
        """Set the review state of a feedback record (reviewers only)."""
        self._write(self._review_job(feedback_id, state, reviewer))

    def review_async(self, feedback_id: int, state: str, reviewer: str) -> Future[None]:
        return self._submit(self._review_job(feedback_id, state, reviewer))

    def _review_job(self, feedback_id: int, state: str, reviewer: str) -> Callable[[Tx], None]:
        fid = validate.integer(feedback_id, "feedback id", 1, 2**63 - 1)
        validate.choice(state, REVIEW_STATES, "review state")
        who = validate.optional_text(reviewer, "reviewer", validate.MAX_IDENT)
        if not who:
            raise ValidationError("reviewer name is required")

        def job(tx: Tx) -> None:
            res = tx.conn.execute(update(FEEDBACK).where(FEEDBACK.c.id == fid).values(
                review_state=state, reviewed_by=who, reviewed_at=utcnow()))
            if res.rowcount == 0:
                raise NotFound(f"no feedback {fid}")

        return job

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

    # ------------------------------------------------------------------ visitor reads

    def list_predictions(self, client_hash: str, *, verdict: str | None = None, limit: int = 50,
                         offset: int = 0) -> list[PredictionOut]:
        """This visitor's predictions, newest first."""
        ch = validate.sha256_hex(client_hash, "client hash")
        return self._list_predictions(Prediction.client_hash == ch, verdict, limit, offset)

    def get_prediction(self, prediction_id: int, client_hash: str) -> PredictionOut | None:
        ch = validate.sha256_hex(client_hash, "client hash")
        return self._get_prediction(prediction_id, ch)

    def get_maps(self, prediction_id: int, client_hash: str) -> list[MapOut]:
        ch = validate.sha256_hex(client_hash, "client hash")
        return self._get_maps(prediction_id, ch)

    def get_feedback(self, prediction_id: int, client_hash: str) -> FeedbackOut | None:
        """This visitor's feedback on one of their predictions (to pre-fill the form when editing)."""
        ch = validate.sha256_hex(client_hash, "client hash")
        pid = validate.integer(prediction_id, "prediction id", 1, 2**63 - 1)

        def q(s: Session) -> FeedbackOut | None:
            row = s.scalar(select(Feedback).where(Feedback.prediction_id == pid, Feedback.client_hash == ch))
            return _feedback_out(row) if row else None

        return self._read(q)

    def list_feedback(self, client_hash: str, filt: FeedbackFilter | None = None) -> list[FeedbackOut]:
        ch = validate.sha256_hex(client_hash, "client hash")
        return self._list_feedback(validate.feedback_filter(filt), Feedback.client_hash == ch)

    def get_image(self, sha256: str, client_hash: str) -> bytes | None:
        """The stored bytes of an image, if this visitor has a prediction on it and they are kept."""
        sha = validate.sha256_hex(sha256)
        ch = validate.sha256_hex(client_hash, "client hash")
        owns = self._read(lambda s: s.scalar(select(func.count()).select_from(Prediction).where(
            Prediction.image_sha256 == sha, Prediction.client_hash == ch)))
        return self._image_bytes(sha) if owns else None

    # ------------------------------------------------------------------ reviewer reads

    def reviewer_list_predictions(self, *, verdict: str | None = None, limit: int = 50,
                                  offset: int = 0) -> list[PredictionOut]:
        return self._list_predictions(None, verdict, limit, offset)

    def reviewer_get_prediction(self, prediction_id: int) -> PredictionOut | None:
        return self._get_prediction(prediction_id, None)

    def reviewer_get_maps(self, prediction_id: int) -> list[MapOut]:
        return self._get_maps(prediction_id, None)

    def reviewer_list_feedback(self, filt: FeedbackFilter | None = None) -> list[FeedbackOut]:
        return self._list_feedback(validate.feedback_filter(filt), None)

    def reviewer_get_image(self, sha256: str) -> bytes | None:
        return self._image_bytes(validate.sha256_hex(sha256))

    # ------------------------------------------------------------------ read helpers

    def _image_bytes(self, sha: str) -> bytes | None:
        stored = self._read(lambda s: s.scalar(select(Image.stored_path).where(Image.sha256 == sha)))
        return self.files.read(sha) if stored else None

    def _list_predictions(self, scope: Any, verdict: str | None, limit: int, offset: int) -> list[PredictionOut]:
        validate.choice(verdict, ("real", "fake", "undecided"), "verdict filter", optional=True)
        validate.integer(limit, "limit", 1, 10_000)
        validate.integer(offset, "offset", 0, 2**62)
        q = select(Prediction)
        if scope is not None:
            q = q.where(scope)
        if verdict is not None:
            q = q.where(Prediction.verdict == verdict)
        q = q.order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(limit).offset(offset)
        return self._read(lambda s: [_prediction_out(p) for p in s.scalars(q)])

    def _get_prediction(self, prediction_id: int, client_hash: str | None) -> PredictionOut | None:
        pid = validate.integer(prediction_id, "prediction id", 1, 2**63 - 1)

        def q(s: Session) -> PredictionOut | None:
            p = s.get(Prediction, pid)
            if p is None or (client_hash is not None and p.client_hash != client_hash):
                return None
            return _prediction_out(p)

        return self._read(q)

    def _get_maps(self, prediction_id: int, client_hash: str | None) -> list[MapOut]:
        pid = validate.integer(prediction_id, "prediction id", 1, 2**63 - 1)
        q = select(PhraseMapRow).join(Prediction).where(PhraseMapRow.prediction_id == pid)
        if client_hash is not None:
            q = q.where(Prediction.client_hash == client_hash)
        q = q.order_by(PhraseMapRow.phrase_index, PhraseMapRow.method)
        return self._read(lambda s: [_map_out(r) for r in s.scalars(q)])

    def _list_feedback(self, f: FeedbackFilter, scope: Any) -> list[FeedbackOut]:
        q: Select[Any] = select(Feedback).join(Prediction)
        if scope is not None:
            q = q.where(scope)
        if f.verdict is not None:
            q = q.where(Prediction.verdict == f.verdict)
        if f.category is not None:
            q = q.where(Feedback.category == f.category)
        if f.review_state is not None:
            q = q.where(Feedback.review_state == f.review_state)
        if f.true_label is not None:
            q = q.where(Feedback.true_label == f.true_label)
        if f.prediction_id is not None:
            q = q.where(Feedback.prediction_id == f.prediction_id)
        if f.disagreement is not None:
            q = q.where(_disagreement() == (1 if f.disagreement else 0))
        q = q.order_by(Feedback.updated_at.desc(), Feedback.id.desc()).limit(f.limit).offset(f.offset)
        return self._read(lambda s: [_feedback_out(r) for r in s.scalars(q).unique()])

    # ------------------------------------------------------------------ summaries, export, checks

    def stats(self) -> Stats:
        def q(s: Session) -> Stats:
            def grouped(col: Any) -> dict[str, int]:
                return {str(k): int(n) for k, n in s.execute(select(col, func.count()).group_by(col)) if k is not None}

            verdict_answer = case((Feedback.verdict_correct.is_(True), "right"),
                                  (Feedback.verdict_correct.is_(False), "wrong"), else_="unanswered")
            by_answer = {str(k): int(n) for k, n in s.execute(
                select(verdict_answer, func.count()).group_by(verdict_answer))}
            reviews = grouped(Feedback.review_state)
            return Stats(
                predictions=s.scalar(select(func.count()).select_from(Prediction)) or 0,
                predictions_by_verdict=grouped(Prediction.verdict),
                feedback=s.scalar(select(func.count()).select_from(Feedback)) or 0,
                feedback_by_verdict={k: by_answer.get(k, 0) for k in ("right", "wrong", "unanswered")},
                true_labels=grouped(Feedback.true_label),
                phrase_votes={k: n for k, n in grouped(PhraseVote.vote).items()},
                review_states={k: reviews.get(k, 0) for k in REVIEW_STATES},
                categories=grouped(Feedback.category),
                consented_feedback=s.scalar(select(func.count()).select_from(Feedback)
                                            .where(Feedback.consent.is_(True))) or 0,
                images=s.scalar(select(func.count()).select_from(Image)) or 0,
                images_stored=s.scalar(select(func.count()).select_from(Image)
                                       .where(Image.stored_path.is_not(None))) or 0,
                stored_bytes=int(s.scalar(select(func.coalesce(func.sum(Image.size_bytes), 0))) or 0),
            )

        return self._read(q)

    def export_rows(self, *, accepted_only: bool = False, page: int = 500) -> Iterator[ExportRow]:
        """Consented feedback whose image bytes are kept, oldest first; rejected feedback never,
        pending only when `accepted_only` is False. Streams in pages to bound memory."""
        last = 0
        while True:
            q = (select(Feedback, Prediction, Image)
                 .join(Prediction, Feedback.prediction_id == Prediction.id)
                 .join(Image, Prediction.image_sha256 == Image.sha256)
                 .where(Feedback.consent.is_(True), Image.stored_path.is_not(None), Feedback.id > last)
                 .order_by(Feedback.id).limit(page))
            q = q.where(Feedback.review_state == "accepted") if accepted_only else \
                q.where(Feedback.review_state != "rejected")
            rows = self._read(partial(_export_rows_page, q=q, files=self.files))
            if not rows:
                return
            yield from rows
            last = rows[-1].feedback_id

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
        for sha, size in stored.items():
            data = self.files.read(sha)
            if data is None:
                problems.append(f"image {sha} is marked stored but its file is missing")
            elif len(data) != size or hashlib.sha256(data).hexdigest() != sha:
                problems.append(f"image {sha}: file content does not match its hash")
        for sha, path, is_temp in self.files.iter_files():
            if is_temp or sha not in stored:
                problems.append(f"orphan file {path.relative_to(self.data_dir)}")
        return problems


# ---------------------------------------------------------------------- row -> record


def _disagreement() -> Any:
    """1 when the visitor disputes the answer (verdict marked wrong, a phrase disagreed, or a true
    label opposite to the verdict), else 0. A CASE, so NULLs never make a row vanish from both."""
    any_disagree = (select(PhraseVote.feedback_id)
                    .where(PhraseVote.feedback_id == Feedback.id, PhraseVote.vote == "disagree")
                    .exists())
    opposite = and_(Feedback.true_label.in_(["real", "fake"]), Prediction.verdict.in_(["real", "fake"]),
                    Feedback.true_label != Prediction.verdict)
    return case((Feedback.verdict_correct.is_(False), 1), (any_disagree, 1), (opposite, 1), else_=0)


def _image_ref(img: Image) -> ImageRef:
    return ImageRef(img.sha256, img.format, img.width, img.height, img.stored_path is not None, img.size_bytes)


def _phrases(raw: Any) -> list[PhraseSpan]:
    return [PhraseSpan(p["text"], p["char_start"], p["char_end"]) for p in (raw or [])]


def _prediction_out(p: Prediction) -> PredictionOut:
    return PredictionOut(
        id=p.id, client_hash=p.client_hash, image=_image_ref(p.image), model_id=p.model_id,
        model_revision=p.model_revision, prompt=p.prompt, text=p.text, verdict=p.verdict, p_fake=p.p_fake,
        phrases=_phrases(p.phrases), timings=dict(p.timings or {}),
        provenance=dict(p.provenance) if p.provenance is not None else None, created_at=p.created_at)


def _map_out(r: PhraseMapRow) -> MapOut:
    return MapOut(
        prediction_id=r.prediction_id, phrase_index=r.phrase_index, method=r.method,
        grid=unpack_grid(r.grid, r.rows, r.cols), crop_box=(r.crop_x0, r.crop_y0, r.crop_x1, r.crop_y1),
        score=r.score, reliance=r.reliance, deletion_auc=r.deletion_auc, insertion_auc=r.insertion_auc)


def _feedback_out(f: Feedback) -> FeedbackOut:
    return FeedbackOut(
        id=f.id, prediction_id=f.prediction_id, client_hash=f.client_hash, verdict_correct=f.verdict_correct,
        true_label=f.true_label, phrase_votes={v.phrase_index: v.vote for v in f.votes},
        corrected_explanation=f.corrected_explanation, category=f.category, comment=f.comment,
        consent=bool(f.consent), created_at=f.created_at, updated_at=f.updated_at,
        review_state=f.review_state, reviewed_by=f.reviewed_by, reviewed_at=f.reviewed_at)


def _export_rows_page(s: Session, *, q: Any, files: ImageFiles) -> list[ExportRow]:
    return [_export_row(f, p, i, files) for f, p, i in s.execute(q).unique()]


def _export_row(f: Feedback, p: Prediction, img: Image, files: ImageFiles) -> ExportRow:
    return ExportRow(
        feedback_id=f.id, prediction_id=p.id, image_sha256=img.sha256, image_format=img.format,
        width=img.width, height=img.height, image_path=files.path(img.sha256), model_id=p.model_id,
        model_revision=p.model_revision, prompt=p.prompt, model_text=p.text, model_verdict=p.verdict,
        p_fake=p.p_fake, phrases=_phrases(p.phrases), verdict_correct=f.verdict_correct,
        true_label=f.true_label, phrase_votes={v.phrase_index: v.vote for v in f.votes},
        corrected_explanation=f.corrected_explanation, category=f.category, comment=f.comment,
        review_state=f.review_state, created_at=f.created_at, updated_at=f.updated_at)
