"""The projector view of a class session: what the whole class may see, found by the join code.

No teacher key is needed, and none is shown: the view holds the picture, how many students have
answered, and after the reveal the model's answer, the truth and the class's votes (counts, never
names or words): nothing a student's own page does not already show, except the answer count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage import ValidationError
from storage.classroom import JOIN_CODE_LEN, ItemOut, RevealOut, SessionOut, Tally, normalize_code

from ...i18n import tr
from ..errors import UserError
from .views import LiveReveal


@dataclass(frozen=True)
class PresenterView:
    session: SessionOut
    item: ItemOut | None
    answered: int
    revealed: bool
    reveal: RevealOut | None
    live: LiveReveal | None
    tally: Tally | None  # only once the picture is revealed

    @property
    def signature(self) -> tuple:
        live = (self.live.stage, len(self.live.text)) if self.live else None
        return (self.session.id, self.session.version, self.session.state, self.session.participants,
                self.item.id if self.item else None, self.answered, self.revealed, self.reveal is not None, live)


class PresenterMixin:
    """`Classroom`'s read-only view for the projector."""

    def presenter_view(self, code: Any, lang: str, *, address_key: str | None = None) -> PresenterView:
        """The session's projector view. With `address_key` (opening the view, not polling it) a wrong
        code counts against the address as a wrong join code does, so the view finds no codes by guessing."""
        if address_key and self.join_miss_rate.wait_s(address_key) > 0:
            self._rate(self.join_miss_rate, address_key, lang)
        try:
            s = self.cstore.get_session(normalize_code(str(code or ""), JOIN_CODE_LEN))
        except ValidationError:
            raise UserError(tr("cls_err_join_code", lang, n=JOIN_CODE_LEN)) from None
        if s is None:
            if address_key:
                self.join_miss_rate.hit(address_key)
            raise UserError(tr("cls_present_none", lang))
        item = s.current
        revealed = bool(item and item.id in s.revealed)
        tallies = self.cstore.tallies(s.code)
        tally = tallies.get(item.id) if item else None
        reveal = item.reveal if revealed and item and self._fresh(item.reveal) else None
        live = self._live.get(item.id) if revealed and item and reveal is None else None
        return PresenterView(s, item, tally.answers if tally else 0, revealed, reveal, live,
                             tally if revealed else None)
