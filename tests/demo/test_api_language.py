"""The visitor's language through the API (`gradio_client` against a real server): Accept-Language
picks the language of the texts made for people, the JSON fields for machines stay as they are, and a
self-contradicting feedback form is refused with a sentence in that language while nothing is stored."""

from __future__ import annotations

import re
import sqlite3

import pytest
from gradio_client import Client, handle_file

from demo.i18n import tr

from .test_api import CARD, DETAILS, EVIDENCE, PID, STATUS

ZH = "zh-CN"


def _client(server, accept_language: str | None) -> Client:
    headers = {"Accept-Language": accept_language} if accept_language else None
    return Client(server.url, verbose=False, download_files=False, headers=headers)


@pytest.fixture(scope="module")
def chinese(server, example_image):
    client = _client(server, "zh-CN,zh;q=0.9,en;q=0.8")
    job = client.submit(handle_file(str(example_image)), api_name="/explain")
    updates = list(job)
    assert job.status().success, job.exception()
    return client, updates


def test_accept_language_chinese_gives_chinese_texts_and_unchanged_json(chinese):
    _, updates = chinese
    final = updates[-1]
    details = final[DETAILS]
    verdict = details["verdict"]
    assert tr("status_done", ZH, seconds=0, tokens=0).split("0")[0] in final[STATUS]  # "用时 …"
    assert tr(f"verdict_label_{verdict}", ZH) in final[CARD] and f"data-verdict='{verdict}'" in final[CARD]
    assert tr("evidence_title", ZH) in final[EVIDENCE]
    # machine-readable fields keep their values and the model's words stay as written (English)
    assert verdict in ("real", "fake", "undecided") and 0.0 <= details["p_fake"] <= 1.0
    assert details["text"].startswith("This is a") and all(p.isascii() for p in details["phrases"])
    assert final[PID] == str(details["prediction_id"])


def test_the_maps_status_and_chips_follow_the_language(chinese):
    client, updates = chinese
    pid = updates[-1][PID]
    *_, chips_update, _, maps, status = client.predict(pid, "gradient", None, 0.7, api_name="/attribute")[:6]
    assert status == tr("status_maps_done", ZH)
    labels = [label for label, _ in chips_update["choices"]]
    assert any("线索：" in label for label in labels), labels  # the glossary's name, in Chinese
    assert all(m["grid"] for m in maps)


def test_without_accept_language_it_is_english(server, example_image):
    out = _client(server, None).predict(handle_file(str(example_image)), api_name="/explain")
    assert "Evidence in the file" in out[EVIDENCE] and out[STATUS].startswith("Done in")
    out = _client(server, "fr-FR, de;q=0.8").predict(handle_file(str(example_image)), api_name="/explain")
    assert out[STATUS].startswith("Done in")  # languages we do not have fall back to English


def test_a_contradicting_form_is_refused_in_chinese_and_nothing_is_stored(server, chinese):
    client, updates = chinese
    details = updates[-1][DETAILS]
    verdict = details["verdict"]
    if verdict not in ("real", "fake"):
        pytest.skip("the toy model gave no verdict to contradict")
    opposite = "real" if verdict == "fake" else "fake"
    pid = str(details["prediction_id"])
    sentence = tr("fb_contradiction_right", ZH, verdict=tr(f"verdict_{verdict}", ZH),
                  label=tr(f"fb_label_{opposite}", ZH))
    with pytest.raises(Exception, match=re.escape(sentence)):
        client.predict(pid, "right", opposite, [], [], "", None, "", False, api_name="/feedback")
    # the same with "wrong" and the model's own verdict as the true label
    with pytest.raises(Exception, match="这次没有保存任何内容"):
        client.predict(pid, "wrong", verdict, [], [], "", None, "", False, api_name="/feedback")
    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*) FROM feedback WHERE prediction_id = ?", (int(pid),)).fetchone()[0] == 0
    # an agreeing form is saved, and thanked in Chinese
    message, fid = client.predict(pid, "right", verdict, [], [], "", None, "", False, api_name="/feedback")
    assert fid >= 1 and tr("fb_saved", ZH, id=fid, updated="") == message


def test_an_upload_refusal_speaks_the_visitors_language(server):
    """The upload guard answers before Gradio does (demo/uploads.py): in the same language as the page."""
    import httpx

    def chunked():  # no Content-Length: refused at once
        yield b"--x\r\n"

    def post(**headers: str) -> httpx.Response:
        return httpx.post(server.url + "gradio_api/upload", content=chunked(), timeout=30,
                          headers={"Content-Type": "multipart/form-data; boundary=x", **headers})

    r = post(**{"Accept-Language": "zh-CN"})
    assert r.status_code == 411 and r.json()["detail"] == tr("err_upload_length", ZH)
    r = post(**{"Accept-Language": "zh-CN", "Cookie": "spot-lang=en"})  # the page's choice wins
    assert r.status_code == 411 and r.json()["detail"] == tr("err_upload_length", "en")
