"""Classroom storage: lesson sets of pictures, class sessions, participants and their answers.

A teacher builds a lesson set (pictures with their ground truth when known), shared by a short
set code; opens a class session from a set, joined by a short join code; students join with a
nickname and answer real / fake, with a confidence and a few words, before each reveal.

Same rules as the rest of the store (storage/store.py): writes go through the store's single
writer thread, reads use its reader pool, plain records go in and out. The parts:
- models.py: the ORM tables, on the feedback store's `Base` (importing this package registers them);
- records.py: the In/Out records, codes, limits and the checks on what comes in;
- store.py: `ClassroomStore` and its lesson sets; sessions.py: its sessions, students and results.
"""

from . import models as models
from .records import (
    CODE_ALPHABET,
    GUESSES,
    JOIN_CODE_LEN,
    MAX_ITEMS,
    MAX_NICKNAME,
    MAX_REASON,
    SET_CODE_LEN,
    SOURCES,
    AnswerIn,
    AnswerOut,
    ItemIn,
    ItemOut,
    LessonSetOut,
    ParticipantOut,
    RevealIn,
    RevealOut,
    SessionOut,
    Tally,
    TeacherRow,
    normalize_code,
)
from .store import ClassroomStore

__all__ = [
    "CODE_ALPHABET", "GUESSES", "JOIN_CODE_LEN", "MAX_ITEMS", "MAX_NICKNAME", "MAX_REASON", "SET_CODE_LEN",
    "SOURCES", "AnswerIn", "AnswerOut", "ClassroomStore", "ItemIn", "ItemOut", "LessonSetOut", "ParticipantOut",
    "RevealIn", "RevealOut", "SessionOut", "Tally", "TeacherRow", "normalize_code",
]
