"""The teacher key on the page: made, shown once with a copy button, hidden, shown again on request.

A key is the teacher's only credential, and the teacher page is often on the projector: a new key
is shown in its own box (with Gradio's copy button) until the teacher presses Hide or starts a
session; the key field itself is a password field; status lines never contain the key; showing it
again takes an explicit press of "Show my key". The projector view has no key at all.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..events import user_errors
from ..i18n import tr
from ..service import UserError


def shown(key: str) -> tuple:
    """The key box, open with the key in it."""
    return gr.update(visible=True), gr.update(value=key)


def hidden() -> tuple:
    """The key box, closed and emptied (the key leaves the page's text)."""
    return gr.update(visible=False), gr.update(value="")


class KeyHandlers:
    """The key's events; mixed into ClassroomHandlers (which provides `svc`, `parse_context`)."""

    def new_key(self, ctx: Any = None) -> tuple:
        """key store, key field, status, new-key state, sessions, key box, key text."""
        lang = self._lang(ctx)
        key = self.svc.new_teacher_key()
        return key, key, tr("cls_key_new", lang), key, gr.update(choices=[], value=None), *shown(key)

    @user_errors
    def use_key(self, ctx: Any = None, key_box: Any = None) -> tuple:
        lang = self._lang(ctx)
        key = (key_box or "").strip()
        self.svc.teacher(key, lang)
        return key, tr("cls_key_ok", lang), gr.update(choices=self._session_choices(key, lang))

    @user_errors
    def show_key(self, ctx: Any = None, key_store: Any = None, key_box: Any = None) -> tuple:
        """Show the key again: only on this explicit request."""
        lang = self._lang(ctx)
        key = (key_box or "").strip() if isinstance(key_box, str) else ""
        key = key or (key_store if isinstance(key_store, str) else "")
        if not key:
            raise UserError(tr("cls_err_no_key", lang))
        self.svc.teacher(key, lang)  # a malformed key is refused, not displayed
        return shown(key)

    def hide_key(self) -> tuple:
        return hidden()

    @staticmethod
    def _key_note(key: str, is_new: bool, lang: str) -> tuple:
        """Status line, remembered new key, key box and key text: the box opens when a key was just made."""
        if is_new:
            return tr("cls_key_new", lang), key, *shown(key)
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
