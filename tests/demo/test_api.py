"""The named API endpoints through `gradio_client`, against a real server, down to the SQLite rows."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from gradio_client import Client, handle_file

from .conftest import png_file

# indices into /explain's outputs (see demo/ui.py: explain_outputs)
CROP, CARD, EVIDENCE, TEXT, CHIPS, PRIOR, STATUS, DETAILS, PID = range(9)


def _db(server) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def _explain(client: Client, path) -> list[tuple]:
    job = client.submit(handle_file(str(path)), api_name="/explain")
    updates = list(job)  # every streamed update, in order
    assert job.status().success, job.exception()
    return updates


@pytest.fixture(scope="module")
def explained(server, example_image):
    client = Client(server.url, verbose=False, download_files=False)
    updates = _explain(client, example_image)
    return client, updates


def test_api_lists_the_three_named_endpoints(client):
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/explain", "/attribute", "/feedback"} <= set(named)
    params = [p["parameter_name"] for p in named["/attribute"]["parameters"]]
    assert params[:2] == ["prediction_id", "method"]
    # everything but the first input is optional for API callers
    assert all(p["parameter_has_default"] for p in named["/explain"]["parameters"][1:])


def test_explain_streams_then_finishes(explained, example_image):
    _, updates = explained
    texts = [u[TEXT] for u in updates if isinstance(u[TEXT], str)]
    growing = [t for i, t in enumerate(texts) if t and (i == 0 or t != texts[i - 1])]
    assert len(growing) >= 3, f"expected several intermediate texts, got {growing!r}"
    for a, b in zip(growing, growing[1:], strict=False):
        assert b.startswith(a), "the streamed text must only grow"
    final = updates[-1][DETAILS]
    assert final["stage"] == "done" and final["prediction_id"] >= 1
    assert final["text"] == growing[-1]
    assert final["verdict"] in ("real", "fake", "undecided")
    assert updates[-1][PID] == str(final["prediction_id"])
    # the verdict card appears before the stream ends, as soon as the verdict sentence is decoded
    first_verdict = next(i for i, u in enumerate(updates) if isinstance(u[DETAILS], dict) and u[DETAILS]["verdict"])
    assert first_verdict < len(updates) - 1
    assert "data-verdict=" in updates[first_verdict][CARD]
    # the model saw the original bytes, not a re-encoded copy
    assert final["sha256"] == hashlib.sha256(example_image.read_bytes()).hexdigest()
    assert final["byte_size"] == example_image.stat().st_size
    # the model's crop is shown, and the crop box lies inside the picture
    assert updates[-1][CROP] is not None
    x0, y0, x1, y1 = final["crop_box"]
    assert 0 <= x0 < x1 <= final["width"] and 0 <= y0 < y1 <= final["height"]
    assert "Evidence in the file" in updates[-1][EVIDENCE]


def test_attribute_and_feedback_reach_the_database(server, explained):
    client, updates = explained
    details = updates[-1][DETAILS]
    pid = details["prediction_id"]
    n_phrases = len(details["phrases"])
    assert n_phrases >= 1

    heat, multiples, chips, prior, maps, status = client.predict(str(pid), "gradient", None, 0.6,
                                                                 api_name="/attribute")
    assert len(maps) == n_phrases
    assert all(len(m["grid"]) == 24 and len(m["grid"][0]) == 24 for m in maps)
    assert heat is not None and multiples is not None

    # the faithful occlusion maps go through the same endpoint (method "occlusion"); on a CPU they take
    # long, so tests/demo/service/test_state.py checks them on the tiny model and the browser/GPU runs show them here
    with pytest.raises(Exception, match="Unknown map method"):
        client.predict(str(pid), "saliency", 0, 0.6, api_name="/attribute")

    truth = "fake" if details["verdict"] == "real" else "real"  # "wrong" must agree with the true label
    msg, fid = client.predict(str(pid), "wrong", truth, [0], [], f"This is a {truth} image. Nothing odd.",
                              "object", "", False, api_name="/feedback")
    assert f"#{fid}" in msg
    msg2, fid2 = client.predict(str(pid), "wrong", truth, [], [0], "", "object", "second thoughts", True,
                                api_name="/feedback")
    assert fid2 == fid and "updated" in msg2

    with _db(server) as db:
        pred = db.execute("SELECT * FROM predictions WHERE id = ?", (pid,)).fetchone()
        assert pred is not None and pred["verdict"] == details["verdict"]
        assert pred["image_sha256"] == details["sha256"]
        assert json.loads(pred["provenance"])["findings"], "provenance JSON is stored with the prediction"
        methods = {r[0] for r in db.execute("SELECT DISTINCT method FROM phrase_maps WHERE prediction_id = ?",
                                            (pid,))}
        assert methods == {"gradient"}
        fb = db.execute("SELECT * FROM feedback WHERE prediction_id = ?", (pid,)).fetchall()
        assert len(fb) == 1 and fb[0]["id"] == fid and fb[0]["consent"] == 1
        assert fb[0]["comment"] == "second thoughts"
        votes = db.execute("SELECT phrase_index, vote FROM phrase_votes WHERE feedback_id = ?", (fid,)).fetchall()
        assert [tuple(v) for v in votes] == [(0, "disagree")]
        img = db.execute("SELECT stored_path FROM images WHERE sha256 = ?", (details["sha256"],)).fetchone()
        assert img["stored_path"], "with consent the picture is kept"


def test_no_consent_no_image(server, tmp_path):
    client = Client(server.url, verbose=False, download_files=False)
    path = png_file(tmp_path / "private.png", seed=11)
    details = _explain(client, path)[-1][DETAILS]
    client.predict(str(details["prediction_id"]), "right", None, [], [], "", None, "", False, api_name="/feedback")
    with _db(server) as db:
        img = db.execute("SELECT stored_path FROM images WHERE sha256 = ?", (details["sha256"],)).fetchone()
        assert img is not None and img["stored_path"] is None
    assert not any(server.data_dir.rglob(f"{details['sha256']}*"))


def test_visitors_cannot_reach_each_others_results(server, explained):
    _, updates = explained
    pid = updates[-1][DETAILS]["prediction_id"]
    stranger = Client(server.url, verbose=False, download_files=False)
    with pytest.raises(Exception, match="no such result|not yours"):
        stranger.predict(str(pid), "gradient", None, 0.7, api_name="/attribute")
    with pytest.raises(Exception, match="no such result|not yours"):
        stranger.predict(str(pid), "right", None, [], [], "", None, "", False, api_name="/feedback")


def test_feedback_form_is_checked(client, explained):
    _, updates = explained
    pid = str(updates[-1][DETAILS]["prediction_id"])
    with pytest.raises(Exception, match="at least one question"):
        client.predict(pid, None, None, [], [], "", None, "", False, api_name="/feedback")
    with pytest.raises(Exception, match="both agreed and disagreed"):
        client.predict(pid, None, None, [0], [0], "", None, "", False, api_name="/feedback")
    with pytest.raises(Exception, match="not a valid answer"):
        client.predict(pid, "maybe", None, [], [], "", None, "", False, api_name="/feedback")
    with pytest.raises(Exception, match="Explain a picture first"):
        client.predict("", "right", None, [], [], "", None, "", False, api_name="/feedback")


def test_a_visitor_token_keeps_one_identity_across_clients(server, tmp_path):
    token = "api-visitor-token-0123456789abcdef"
    first = Client(server.url, verbose=False, download_files=False)
    out = first.predict(handle_file(str(png_file(tmp_path / "t.png", seed=21))), visitor=token, api_name="/explain")
    pid = str(out[DETAILS]["prediction_id"])
    second = Client(server.url, verbose=False, download_files=False)  # a new session, same visitor
    maps = second.predict(pid, "gradient", None, 0.7, visitor=token, api_name="/attribute")[4]
    assert maps
    with pytest.raises(Exception, match="no such result|not yours"):
        second.predict(pid, "gradient", None, 0.7, api_name="/attribute")  # without the token: a stranger
