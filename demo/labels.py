"""The message catalog (demo/i18n) as Gradio uses it in the browser: one `gr.I18n` of every
language for `launch(i18n=i18n())`, and `lab(key)` for a static label Gradio translates in the page."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import gradio as gr

from .i18n import EN, LANGUAGES


@lru_cache(maxsize=1)
def i18n() -> gr.I18n:
    """The `gr.I18n` holding every catalog (for `launch(i18n=...)`)."""
    return gr.I18n(**{code: dict(catalog) for code, (_, catalog) in LANGUAGES.items()})


def lab(key: str) -> Any:
    """A label Gradio translates in the browser."""
    if key not in EN:
        raise KeyError(f"no English text for i18n key {key!r}")
    return i18n()(key)
