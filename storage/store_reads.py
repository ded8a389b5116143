"""The read part of `Store`: visitors' reads of their own rows, reviewers' reads of all, the
summary counts and the rows an export streams. All on the reader pool, never waiting for the writer.

A visitor's read takes their `client_hash` and the scope it implies is part of the query; the
`reviewer_*` twins run the same query unscoped, for the authenticated reviewers only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from . import validate
from .images import ImageFiles
from .models import Feedback, Image, PhraseMapRow, PhraseVote, Prediction, unpack_grid
from .records import (
    REVIEW_STATES,
    ExportRow,
    FeedbackFilter,
    FeedbackOut,
    ImageRef,
    MapOut,
    PhraseSpan,
    PredictionOut,
    Stats,
)


class StoreReads:
    """Mixed into `Store`, which supplies what is declared here."""

    files: ImageFiles
    _read: Callable[[Callable[[Session], Any]], Any]

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

    # ------------------------------------------------------------------ read helpers
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

    # ------------------------------------------------------------------ summaries and export

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
        provenance=dict(p.provenance) if p.provenance is not None else None, created_at=p.created_at,
        rule=p.rule, preprocess=p.preprocess)


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
        review_state=f.review_state, created_at=f.created_at, updated_at=f.updated_at, rule=p.rule,
        preprocess=p.preprocess)
