"""What every page of the UI shares when it wires events: the model's concurrency group, and the
one translation of the service's `UserError` into Gradio's `gr.Error`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from .service import UserError

MODEL_SLOT = "model"  # one concurrency group for everything that runs the model, on every page


def user_errors(fn: Callable) -> Callable:
    """Turn UserError into gr.Error (shown to the visitor, no traceback) for plain and generator handlers."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except UserError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
        return gen

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
    return plain
