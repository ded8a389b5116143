"""The application layer: what a visitor, a reviewer or a teacher can do, without any UI.

Explain a picture, ask for its maps, send feedback, sign in and review, export; run a class (the
`classroom` subpackage). Visitor identity and limits, the results cache and GPU scheduling live here
too. Plain classes and dataclasses in and out; errors meant for people are `UserError`.

The rule: this package never imports gradio, nor torch (it hands pictures and answers to explain/,
which owns the model, and records to storage/). The UI (demo/) imports it; it imports explain/,
storage/ and the message catalog (demo/i18n), never the UI.
"""

from explain.assets import ASSETS_DIR
from explain.confidence import is_uncertain
from explain.provenance import GLOSSARY as PROVENANCE_GLOSSARY
from explain.types import Box, PhraseMap
from storage import CATEGORIES

from . import inputs
from .config import AppConfig, ConfigError, parse_config
from .errors import UserError
from .explaining import METHODS, finished_phrases, maps_json
from .explorer import Reopened
from .feedback import FeedbackForm
from .gpu import ModelLock, ModelWorker, ProgressReporter, gpu
from .limits import RateLimiter, request_address
from .progress import WorkProgress, progress_text, stream_text
from .results import Analysis, ExplainView, ResultsCache
from .sharing import Sharing
from .state import AppState
from .visitors import Reviewer, Visitor

__all__ = ["ASSETS_DIR", "CATEGORIES", "METHODS", "PROVENANCE_GLOSSARY", "Box", "PhraseMap", "is_uncertain", "maps_json", "Analysis", "AppConfig", "AppState", "ConfigError", "ExplainView", "FeedbackForm",
           "ModelLock", "ModelWorker", "ProgressReporter", "RateLimiter", "Reopened", "ResultsCache", "Reviewer",
           "Sharing", "UserError", "Visitor", "finished_phrases", "gpu", "inputs", "parse_config", "request_address",
           "WorkProgress", "progress_text", "stream_text"]
