"""Handlers of the projector view (/classroom?present=CODE): open it, then follow the session.

The view is found by the join code the class already sees, holds no teacher key (none is sent to
it) and no names: the picture, how many have answered, and after the reveal the model's answer,
the truth and the class's votes, in large type. Opening it with a wrong code counts against the
address as a wrong join does (demo/service/classroom/presenter.py).
"""

from __future__ import annotations

from html import escape
from typing import Any

import gradio as gr

from ..i18n import tr
from ..service import UserError, request_address
from ..service.classroom import PresenterView
from . import cards

PRESENTER_OUTPUTS = ("p_head", "p_image", "p_side", "p_state")


class PresenterHandlers:
    """Mixed into ClassroomHandlers (which provides `svc`, `_lang` and `_context`)."""

    def presenter_open(self, ctx: Any = None, request: gr.Request = None) -> tuple:
        """On load: with ?present=CODE, the projector view instead of the tabs."""
        params = getattr(request, "query_params", None) or {}
        code = str(params.get("present") or "")[:12] if hasattr(params, "get") else ""
        n = len(PRESENTER_OUTPUTS)
        if not code:
            return (gr.skip(), gr.skip(), gr.skip(), *(gr.skip(),) * n)
        lang = self._lang(ctx)
        address = self.svc.app.visitor(None, "present", request_address(request)).address_key
        try:
            view = self.svc.presenter_view(code, lang, address_key=address)
        except UserError as exc:  # the panel says why, in place of the lesson
            return (gr.update(visible=True), gr.update(visible=False), gr.Timer(active=False),
                    f"<div class='cls-present' id='cls-p-error'>{escape(str(exc))}</div>", None, "", None)
        return (gr.update(visible=True), gr.update(visible=False), gr.Timer(active=True),
                *self._presenter_outputs(view, {"code": view.session.code}, ctx, force=True))

    def presenter_poll(self, ctx: Any = None, state: Any = None) -> tuple:
        n = len(PRESENTER_OUTPUTS)
        if not state or not state.get("code"):
            return (gr.skip(),) * n
        try:
            view = self.svc.presenter_view(state["code"], self._lang(ctx))
        except UserError:
            return (gr.skip(),) * n
        if view.signature == state.get("sig") and state.get("lang") == self._lang(ctx):
            return (gr.skip(),) * n
        return self._presenter_outputs(view, dict(state), ctx)

    def _presenter_outputs(self, v: PresenterView, state: dict, ctx: Any, force: bool = False) -> tuple:
        lang, url = self._context(ctx)
        item = v.item
        new_item = force or state.get("item") != (item.id if item else None)
        state = dict(state, item=item.id if item else None, sig=v.signature, lang=lang)
        s = v.session
        head = cards.presenter_head(s.title, s.code, (item.position + 1) if item else 0, len(s.items),
                                    url or tr("cls_this_page", lang), lang)
        image = self.svc.picture(item, lang).image if item and new_item else gr.skip()
        reveal, expl = "", ""
        if v.revealed and item:
            r, live = v.reveal, v.live
            verdict = r.verdict if r else (live.verdict if live else None)
            p_fake = r.p_fake if r else (live.p_fake if live else None)
            reveal = cards.reveal_card(verdict, p_fake, item.truth, item.reference, v.tally, None, lang,
                                       streaming=r is None)
            expl = cards.explanation_html(r.text if r else (live.text if live else ""), lang)
        side = cards.presenter_side(v.answered, s.participants, bool(item) and not v.revealed,
                                    s.state != "open", reveal, expl, lang)
        return head, image, side, state
