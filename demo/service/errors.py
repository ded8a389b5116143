"""The one exception of the application layer: a sentence meant for the visitor.

Every verb of the service raises `UserError` for what a visitor can fix or should know; the UI turns
it into Gradio's `gr.Error` (demo/events.py) and shows `str(err)` as it is, with no traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the visitor can fix or should know; `str(err)` is shown as it is. `field` names the
    input it is about, when it is about one (a form can show the sentence beside it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
