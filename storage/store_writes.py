"""The write part of `Store`: predictions, phrase maps, visitor feedback and reviews.

Each public write is a job for the single writer thread (storage.writer): the plain method waits
for its commit, the `_async` twin returns the Future. Jobs are SQLAlchemy Core statements, with
the statements they run most often built once at import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from . import validate
from .errors import NotFound, ValidationError
from .models import FEEDBACK, IMAGES, MAPS, PREDICTIONS, VOTES, pack_grid, utcnow
from .records import REVIEW_STATES, FeedbackIn, ImageRef, MapIn, PredictionIn
from .writer import Tx

_FB_FIELDS = ("verdict_correct", "true_label", "corrected_explanation", "category", "comment", "consent")
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


class StoreWrites:
    """Mixed into `Store`, which supplies what is declared here (the picture helpers: storage.store_images)."""

    _write: Callable[[Callable[[Tx], Any]], Any]
    _submit: Callable[[Callable[[Tx], Any]], Future[Any]]
    _ensure_image: Callable[[Connection, str, str, int | None, int | None], None]
    _store_bytes: Callable[[Tx, bytes, str, int | None, int | None], ImageRef]
    _drop_unconsented: Callable[[Tx, str], None]

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
                    "verdict", "p_fake", "phrases", "timings", "provenance", "rule", "preprocess")
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
