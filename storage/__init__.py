"""Feedback store for Spot the Fake: predictions, phrase maps, visitor feedback and reviews.

SQLAlchemy on SQLite by default (any SQLAlchemy URL works; PostgreSQL is tested), image bytes kept
byte-exact and content-addressed with consent only, Alembic migrations applied on open, and
exports for fine-tuning (`python -m storage export ...`). Never imports torch or gradio.

    from storage import Store, PredictionIn, FeedbackIn
    store = Store.open("sqlite:///data/spot.sqlite3", "data")
    visitor = store.client_hash(session_id)
    pid = store.save_prediction(PredictionIn(client_hash=visitor, ...))
    store.save_feedback(FeedbackIn(prediction_id=pid, client_hash=visitor, ...), image_bytes=raw)
"""

from .errors import (
    ConfigError,
    NotFound,
    SchemaError,
    StorageError,
    StoreClosed,
    ValidationError,
    WriteTimeout,
)
from .export import FORMATS as EXPORT_FORMATS
from .export import ExportError, ExportReport, export
from .hub import PushError, push
from .identity import client_hash, load_secret
from .records import (
    CATEGORIES,
    IMAGE_FORMATS,
    REVIEW_STATES,
    TRUE_LABELS,
    VERDICTS,
    VOTES,
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
from .shares import ShareOut, valid_share_token
from .store import Store

__all__ = [
    "CATEGORIES",
    "IMAGE_FORMATS",
    "REVIEW_STATES",
    "TRUE_LABELS",
    "VERDICTS",
    "VOTES",
    "ConfigError",
    "DeleteResult",
    "EXPORT_FORMATS",
    "ExportError",
    "ExportReport",
    "ExportRow",
    "FeedbackFilter",
    "FeedbackIn",
    "FeedbackOut",
    "ImageRef",
    "MapIn",
    "MapOut",
    "NotFound",
    "PhraseSpan",
    "PredictionIn",
    "PredictionOut",
    "PushError",
    "SchemaError",
    "ShareOut",
    "Stats",
    "StorageError",
    "Store",
    "StoreClosed",
    "SweepResult",
    "ValidationError",
    "WriteTimeout",
    "client_hash",
    "export",
    "load_secret",
    "push",
    "valid_share_token",
]
