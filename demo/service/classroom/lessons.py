"""Building lesson sets: pictures from uploads, the shipped examples or FakeClue, checked as uploads are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from explain.assets import ASSETS_DIR
from explain.intake import ImageRejected, check_image
from storage import StorageError, ValidationError
from storage.classroom import (
    MAX_ITEMS,
    SET_CODE_LEN,
    ItemIn,
    LessonSetOut,
)

from ...i18n import tr
from ..errors import UserError
from . import fakeclue
from .views import Teacher

EXAMPLES_DIR = ASSETS_DIR / "examples"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def example_truth(name: str) -> str | None:
    """The truth of a shipped example from its file name (assets/examples/README.md names them
    toy-fake-* and toy-real-*)."""
    stem = Path(name).stem.lower()
    if re.search(r"(^|-)fake(-|$)", stem):
        return "fake"
    if re.search(r"(^|-)real(-|$)", stem):
        return "real"
    return None


def example_files() -> list[Path]:
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _format_key(fmt: str) -> str:
    return {"JPEG": "jpeg", "MPO": "jpeg"}.get(fmt, fmt.lower())



def fakeclue_categories() -> tuple[str, ...]:
    from storage import CATEGORIES  # noqa: PLC0415

    return CATEGORIES


class LessonsMixin:
    """`Classroom`'s verbs for lesson sets."""

    def item_from_bytes(self, data: bytes, *, source: str, truth: str | None = None, reference: str | None = None,
                        caption: str | None = None, category: str | None = None) -> ItemIn:
        """Check a picture as the app checks uploads; raises ImageRejected with the reason."""
        checked = check_image(data, self.limits)
        return ItemIn(data=data, image_format=_format_key(checked.format), width=checked.width,
                      height=checked.height, source=source, truth=truth, reference=reference,
                      caption=(caption or "")[:200] or None,
                      category=category if category in fakeclue_categories() else None)

    def items_from_files(self, paths: Sequence[str], truth: str | None, lang: str) -> tuple[list[ItemIn], list[str]]:
        """Lesson items from uploaded files, and a line per file that was refused."""
        items, problems = [], []
        for p in paths:
            name = Path(p).name
            try:
                data = Path(p).read_bytes()
                items.append(self.item_from_bytes(data, source="upload", truth=truth, caption=name))
            except ImageRejected as exc:
                problems.append(f"{name}: {exc}")
            except OSError:
                problems.append(f"{name}: {tr('cls_err_unreadable', lang)}")
        return items, problems

    def items_from_examples(self, names: Sequence[str], lang: str) -> list[ItemIn]:
        known = {p.name: p for p in example_files()}
        items = []
        for n in names:
            path = known.get(str(n))
            if path is None:
                raise UserError(tr("cls_err_example", lang, name=str(n)[:80]))
            items.append(self.item_from_bytes(path.read_bytes(), source="example", truth=example_truth(path.name),
                                              caption=path.stem.replace("-", " ")))
        return items

    def items_from_fakeclue(self, n: int, lang: str, *, seed: int | None = None) -> tuple[list[ItemIn], list[str]]:
        try:
            samples = fakeclue.pull(n, seed=seed)
        except fakeclue.FakeClueUnavailable as exc:
            raise UserError(tr("cls_err_fakeclue", lang, error=str(exc))) from None
        items, problems = [], []
        for s in samples:
            try:
                items.append(self.item_from_bytes(s.data, source="fakeclue", truth=s.truth, reference=s.reference,
                                                  caption=s.name, category=s.category))
            except ImageRejected as exc:
                problems.append(f"{s.name}: {exc}")
        return items, problems

    def create_set(self, teacher: Teacher, title: str | None, items: Sequence[ItemIn], lang: str) -> LessonSetOut:
        if not items:
            raise UserError(tr("cls_err_no_items", lang))
        if len(items) > MAX_ITEMS:
            raise UserError(tr("cls_err_too_many", lang, n=MAX_ITEMS))
        title = " ".join((title or "").split()) or tr("cls_default_title", lang)
        self._rate(self.build_rate, teacher.hash, lang)
        try:
            return self.cstore.create_set(teacher.hash, title, items)
        except StorageError as exc:
            raise UserError(tr("cls_err_storage", lang, error=str(exc))) from None

    def lesson_set(self, code: Any, lang: str) -> LessonSetOut:
        try:
            s = self.cstore.get_set(str(code or ""))
        except ValidationError:
            raise UserError(tr("cls_err_set_code", lang, n=SET_CODE_LEN)) from None
        if s is None:
            raise UserError(tr("cls_err_no_set", lang))
        return s

    def my_sets(self, teacher: Teacher) -> list[LessonSetOut]:
        return self.cstore.list_sets(teacher.hash)

