"""What the classroom pages draw: plain snapshots of a reveal, a student's and a teacher's view.
"""

from __future__ import annotations

from dataclasses import dataclass

from explain.types import PhraseMap
from storage.classroom import (
    AnswerOut,
    ItemOut,
    ParticipantOut,
    RevealOut,
    SessionOut,
    Tally,
    TeacherRow,
)


@dataclass(frozen=True)
class Teacher:
    hash: str


@dataclass
class LiveReveal:
    """A reveal in progress, in memory: what students see while the model is still talking."""

    text: str = ""
    verdict: str | None = None
    p_fake: float | None = None
    stage: str = "start"  # start | text | maps | done | failed


@dataclass(frozen=True)
class RevealView:
    """A snapshot of a reveal for the teacher's page."""

    item: ItemOut
    stage: str  # text | maps | done
    text: str = ""
    verdict: str | None = None
    p_fake: float | None = None
    phrases: tuple[str, ...] = ()
    maps: tuple[PhraseMap, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class StudentView:
    session: SessionOut
    participant: ParticipantOut
    item: ItemOut | None
    answer: AnswerOut | None
    revealed: bool
    reveal: RevealOut | None
    live: LiveReveal | None
    tally: Tally | None

    @property
    def signature(self) -> tuple:
        """Changes whenever what the student should see changes (polling compares it)."""
        live = (self.live.stage, len(self.live.text)) if self.live else None
        return (self.session.id, self.session.version, self.session.state, self.item.id if self.item else None,
                self.revealed, self.reveal is not None, live,
                self.answer.updated_at.isoformat() if self.answer else None,
                (self.tally.answers, self.tally.real) if self.tally else None)


@dataclass(frozen=True)
class TeacherView:
    session: SessionOut
    tallies: dict[int, Tally]
    rows: list[TeacherRow]
    live: LiveReveal | None

    @property
    def item(self) -> ItemOut | None:
        return self.session.current

    @property
    def signature(self) -> tuple:
        last = max((r.answered_at for r in self.rows), default=None)
        live = (self.live.stage, len(self.live.text)) if self.live else None
        return (self.session.id, self.session.version, self.session.participants, len(self.rows),
                last.isoformat() if last else None, sum(1 for i in self.session.items if i.reveal), live)



def phrase_maps(r: RevealOut) -> list[PhraseMap]:
    return [PhraseMap(phrase_index=m.phrase_index, method=m.method,
                      grid=tuple(tuple(float(v) for v in row) for row in m.grid),
                      crop_box=tuple(int(v) for v in m.crop_box), score=m.score, reliance=m.reliance)
            for m in r.maps]

