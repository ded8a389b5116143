"""Reports and share snapshots without a server: what the PDF and the HTML page hold (read back with
pypdf), the picture's hash, escaping of hostile text, Chinese with the CJK font, privacy between
visitors, and what a share keeps. Real tiny model, real SQLite store."""

from __future__ import annotations

import hashlib
import io
import re
from html import escape

import pytest
from pypdf import PdfReader

from demo.i18n import tr
from demo.service import AppState, Sharing, UserError
from demo.service.config import parse_config
from demo.service.report import ReportData, ReportMap, from_json, probability_line, report_html, to_json
from demo.service.report_pdf import report_pdf
from demo.service.sharing import share_token_of
from storage import Store

from ..conftest import png_file

HOSTILE = "</p><script>alert(1)</script><img src=x onerror=alert(2)>'\"&<iframe src=//evil>"


@pytest.fixture()
def app(tmp_path, tiny_detector):
    config = parse_config(["--data-dir", str(tmp_path / "data"), "--max-new-tokens", "24"], {})
    store = Store.open(config.db_url, config.data_dir)
    state = AppState(tiny_detector, store, config)
    state.sharing = Sharing(state)
    yield state
    state.close()
    store.close()


def _explained(app: AppState, path, visitor) -> int:
    views = list(app.explain(str(path), visitor))
    return views[-1].prediction_id


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _fonts(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for f in (page.get("/Resources", {}).get("/Font") or {}).values():
            names.add(str(f.get_object().get("/BaseFont")))
    return names


def _hostile_data(**kw) -> ReportData:
    grid = tuple(tuple(float((r + c) % 7 - 3) for c in range(24)) for r in range(24))
    fields = dict(
        verdict="fake", p_fake=0.5, text="This is a fake image. " + HOSTILE + " The skin looks overly smooth.",
        phrases=("This is a fake image.", HOSTILE, "The skin looks overly smooth."),
        model_id="m<b>'x'</b>", model_license="cc-by-nc-4.0", sha256="ab" * 32, width=40, height=30,
        crop_box=(5.0, 0.0, 35.0, 30.0), maps=(ReportMap(1, "occlusion", grid, (5.0, 0.0, 35.0, 30.0), True),),
        provenance={"findings": [{"title": HOSTILE, "meaning": HOSTILE + "\x00\u202e", "strength": "<x>",
                                  "points_to": "ai"}]})
    fields.update(kw)
    return ReportData(**fields)


def test_report_files_hold_every_field_and_the_pictures_hash(app, tmp_path):
    v = app.visitor("A" * 32, "s1")
    path = png_file(tmp_path / "a.png", 420, 360, seed=3)
    pid = _explained(app, path, v)
    app.maps(pid, v)  # the fast maps, as the page makes them after every answer
    pdf, html_path, note = app.sharing.report_files(pid, v)
    assert note == "" and pdf is not None and pdf.name == f"spot-report-{pid}.pdf"
    a = app._analysis(pid, v)  # noqa: SLF001
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert a.checked.sha256 == sha
    html = html_path.read_text(encoding="utf-8")
    verdict = tr(f"verdict_label_{a.explanation.verdict}", "en")
    data = app.sharing.report_data(pid, v)
    needles = (sha, app.model_id, app.model_license or "unknown", verdict, probability_line(data, "en"),
               tr("ho_key_phrases", "en"), tr("evidence_title", "en"), tr("crop_label", "en"), "420 × 360", "UTC")
    for needle in needles:
        assert escape(needle) in html, needle
    # self-contained: every picture inline (the picture, the model's crop, one per key map), nothing fetched
    assert len(re.findall(r"src='data:image/png;base64,", html)) >= 3
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", html) and "<script" not in html
    text = _pdf_text(pdf.read_bytes())
    for needle in (sha, app.model_id, verdict, "Report made at", tr("ho_key_phrases", "en")):
        assert needle in text.replace("\n", " "), needle
    assert len(PdfReader(io.BytesIO(pdf.read_bytes())).pages[0].images) >= 3


def test_another_visitor_gets_no_report_and_no_link(app, tmp_path):
    a, b = app.visitor("A" * 32, "s1"), app.visitor("B" * 32, "s2")
    pid = _explained(app, png_file(tmp_path / "a.png"), a)
    with pytest.raises(UserError, match="not yours"):
        app.sharing.report_files(pid, b)
    with pytest.raises(UserError, match="not yours"):
        app.sharing.create_share(pid, b, ["picture"])
    token = app.sharing.create_share(pid, a, ["explanation"])
    with pytest.raises(UserError, match=tr("sh_err_not_yours", "en")):
        app.sharing.revoke_share(f"http://host/share/{token}", b)
    assert app.sharing.share_page(token)[0] == 200
    app.sharing.revoke_share(f"http://host/share/{token}", a)
    assert app.sharing.share_page(token)[0] == 404


def test_hostile_text_is_escaped_in_html_and_printable_in_pdf():
    data = _hostile_data()
    html = report_html(data, "en")
    for bad in ("<script", "<img src=x", "<iframe", "<b>'x'</b>", "</p><script"):
        assert bad not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "m&lt;b&gt;&#x27;x&#x27;&lt;/b&gt;" in html
    pdf = report_pdf(data, "en")  # a NUL, a bidi override and markup: printed as text, no crash
    assert pdf.startswith(b"%PDF-") and "alert(1)" in _pdf_text(pdf)
    long_word = _hostile_data(text="This is a fake image. " + "A" * 5000, phrases=("This is a fake image.", "A" * 5000))
    assert report_pdf(long_word, "en").startswith(b"%PDF-")


def test_chinese_report_uses_the_cjk_font():
    data = _hostile_data(provenance=None)
    pdf = report_pdf(data, "zh-CN")
    fonts = _fonts(pdf)
    assert any("WenQuanYi" in f or "Noto" in f or "Droid" in f for f in fonts), fonts
    text = _pdf_text(pdf)
    assert tr("rp_title", "zh-CN") in text and tr("verdict_label_fake", "zh-CN") in text
    html = report_html(data, "zh-CN")
    assert "lang='zh-CN'" in html and tr("rp_about", "zh-CN") in html


def test_a_share_snapshot_keeps_only_the_chosen_parts(app, tmp_path):
    v = app.visitor("A" * 32, "s1")
    pid = _explained(app, png_file(tmp_path / "a.png"), v)
    app.maps(pid, v)
    data = app.sharing.report_data(pid, v)
    only_maps = to_json(data, ["maps"])
    assert "sha256" not in only_maps and "text" not in only_maps and "provenance" not in only_maps
    assert only_maps["maps"] and only_maps["parts"] == ["maps"]
    page = report_html(from_json(only_maps), "en")
    assert data.sha256 not in page and tr("explanation_label", "en") not in page
    assert tr("ho_key_phrases", "en") in page and tr("rp_picture", "en") not in page
    # without "picture" nothing of the picture is kept; with it, a copy without the file's metadata
    token = app.sharing.create_share(pid, v, ["maps"])
    assert app.store.get_share(token).picture is None
    token = app.sharing.create_share(pid, v, ["picture", "explanation"])
    kept = app.store.get_share(token)
    assert kept.picture is not None and kept.picture.startswith(b"\x89PNG") and b"eXIf" not in kept.picture
    status, html = app.sharing.share_page(token)
    assert status == 200 and data.sha256 in html and tr("ho_key_phrases", "en") not in html
    assert app.sharing.share_page("A" * 32)[0] == 404 and app.sharing.share_page("../etc")[0] == 404


def test_share_links_are_read_from_what_visitors_paste():
    token = "abcdefghijklmnopqrstuvwxyz012345"
    for link in (token, f"/share/{token}", f"https://x.hf.space/share/{token}?lang=zh", f" http://h/share/{token}/ "):
        assert share_token_of(link) == token
    for link in ("", None, 5, f"/share/{token}x", "abc", f"https://h/other/{token}"):
        assert share_token_of(link) is None, link
