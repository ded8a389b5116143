"""A session's results: rows and totals for the teacher, the CSV export and printable handouts.
"""

from __future__ import annotations

import csv
import secrets
import time
from pathlib import Path
from typing import Any

from ...i18n import tr
from .handout import FontMissing, HandoutItem, HandoutMap, handout_html, handout_pdf
from .views import Teacher, TeacherView


def csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not run as a formula (students type these texts)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text



def _join_pages(pages: list[str]) -> str:
    """Several handout pages as one printable document, a page break between pictures."""
    if not pages:
        return ""
    head, _, _ = pages[0].partition("<body>")
    bodies = [p.partition("<body>")[2].rpartition("</body>")[0] for p in pages]
    brk = "<div style='break-after: page'></div>"
    return head + "<body>" + brk.join(bodies) + "</body></html>"



class OutcomesMixin:
    """`Classroom`'s verbs for results and handouts."""

    def results_rows(self, view: TeacherView, lang: str) -> list[list[Any]]:
        """One row per picture: what the class said, what the model said, the truth."""
        out = []
        for item in view.session.items:
            t = view.tallies.get(item.id)
            n = t.answers if t else 0

            def pct(k: int, n: int = n) -> int | None:
                return round(100 * k / n) if n else None

            model = item.reveal.verdict if self._fresh(item.reveal) else None
            out.append([
                item.position + 1, item.caption or "", tr(f"truth_{item.truth}", lang) if item.truth else "",
                tr(f"verdict_{model}", lang) if model else "", n, pct(t.real) if t else None,
                pct(t.fake) if t else None, pct(t.correct) if t and t.correct is not None else None,
                round(t.mean_confidence, 1) if t and t.mean_confidence is not None else None,
                tr("cls_yes", lang) if item.id in view.session.revealed else "",
            ])
        return out

    def summary(self, view: TeacherView) -> dict[str, Any]:
        """Session totals: students, answers, the class's and the model's share right where known."""
        right = total = 0
        m_right = m_total = 0
        for item in view.session.items:
            t = view.tallies.get(item.id)
            if t and t.correct is not None:
                right += t.correct
                total += t.answers
            if item.truth and self._fresh(item.reveal) and item.id in view.session.revealed:
                m_total += 1
                m_right += int(item.reveal.verdict == item.truth)
        return {"students": view.session.participants, "answers": len(view.rows),
                "class_right": right, "class_total": total, "model_right": m_right, "model_total": m_total}

    def export_csv(self, teacher: Teacher, code: Any, lang: str) -> Path:
        """Every answer of the session as CSV (teacher only), with the truth and the model's verdict."""
        view = self.teacher_view(teacher, code, lang)
        items = {i.id: i for i in view.session.items}
        out = self._tmp / "exports" / f"classroom-{view.session.code}-{time.strftime('%Y%m%d-%H%M%S')}.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="", encoding="utf-8-sig") as fh:  # BOM: spreadsheets read UTF-8 right
            w = csv.writer(fh)
            w.writerow(["session", "lesson", "picture", "caption", "truth", "model_verdict", "model_p_fake",
                        "nickname", "answer", "confidence", "reason", "correct", "answered_at"])
            for r in view.rows:
                item = items.get(r.item_id)
                rev = item.reveal if item and self._fresh(item.reveal) else None
                truth = item.truth if item else None
                w.writerow([csv_cell(x) for x in (
                    view.session.code, view.session.title, r.position + 1, item.caption if item else "",
                    truth or "", rev.verdict if rev else "", "" if not rev or rev.p_fake is None else f"{rev.p_fake:.3f}",
                    r.nickname, r.guess, r.confidence, r.reason or "",
                    "" if truth is None else int(r.guess == truth), r.answered_at.isoformat(timespec="seconds"))])
        return out

    def handout(self, teacher: Teacher, code: Any, which: str, lang: str) -> tuple[Path | None, Path, str]:
        """Handout files for the current picture (`which` = "current") or all: a PDF (None when
        this server has no font for the language) and a printable HTML page; and a note."""
        view = self.teacher_view(teacher, code, lang)
        s = view.session
        chosen = [s.current] if which == "current" and s.current else list(s.items)
        items: list[HandoutItem] = []
        for item in chosen:
            reveal = None
            for rv in self.model_answer(teacher, item, lang):
                reveal = rv
            t = view.tallies.get(item.id)
            votes = {"real": t.real, "fake": t.fake} if t and item.id in s.revealed else None
            items.append(HandoutItem(
                image=self.picture(item, lang).image,
                heading=f"{s.title} · {tr('cls_picture_n', lang, n=item.position + 1, total=len(s.items))}",
                text=reveal.text if reveal else "", verdict=reveal.verdict if reveal else None,
                p_fake=reveal.p_fake if reveal else None, phrases=reveal.phrases if reveal else (),
                maps=tuple(HandoutMap(m.phrase_index, m.grid, m.crop_box) for m in (reveal.maps if reveal else ())),
                truth=item.truth, reference=item.reference, votes=votes, model_id=self.app.model_id))
        stem = f"handout-{s.code}-{'p' + str(s.position + 1) if which == 'current' else 'all'}-{lang}"
        folder = self._tmp / "handouts" / secrets.token_hex(4)
        folder.mkdir(parents=True, exist_ok=True)
        html_path = folder / f"{stem}.html"
        html_path.write_text("\n".join(handout_html(i, lang) for i in items[:1]) if len(items) == 1
                             else _join_pages([handout_html(i, lang) for i in items]), encoding="utf-8")
        note = ""
        pdf_path: Path | None = folder / f"{stem}.pdf"
        try:
            pdf_path.write_bytes(handout_pdf(items, lang))
        except FontMissing as exc:
            pdf_path, note = None, str(exc)
        return pdf_path, html_path, note


