"""Malformed API calls and forged headers against a real server: every refusal is a sentence, a
"false" is never consent, and a forged X-Forwarded-For does not buy a fresh rate limit."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from gradio_client import Client, handle_file

from .conftest import png_file, start_server, stop_server

DETAILS = 7


def _explain(server, tmp_path, seed):
    client = Client(server.url, verbose=False, download_files=False)
    out = client.predict(handle_file(str(png_file(tmp_path / f"p{seed}.png", seed=seed))), api_name="/explain")
    return client, out[DETAILS]


def _kept(server, sha256: str) -> bool:
    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT stored_path FROM images WHERE sha256 = ?", (sha256,)).fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize("consent", ["false", "no", "0", "False", 0])
def test_consent_written_as_no_keeps_no_picture(server, tmp_path, consent):
    client, details = _explain(server, tmp_path, seed=31 + len(str(consent)) + (consent == "False"))
    client.predict(str(details["prediction_id"]), "right", None, [], [], "", None, "", consent, api_name="/feedback")
    assert not _kept(server, details["sha256"])


@pytest.mark.parametrize("consent", ["maybe", [True], {"yes": 1}, 2])
def test_consent_that_is_not_yes_or_no_is_refused(server, tmp_path, consent):
    client, details = _explain(server, tmp_path, seed=41)
    with pytest.raises(Exception, match="not a valid value for keeping the picture"):
        client.predict(str(details["prediction_id"]), "right", None, [], [], "", None, "", consent,
                       api_name="/feedback")
    assert not _kept(server, details["sha256"])


CALLS = [
    ("/attribute", (str(2**63), "gradient", None, 0.7), "Explain a picture first"),
    ("/attribute", (2**70, "gradient", None, 0.7), "Explain a picture first"),
    ("/attribute", ("1", "gradient", None, "x"), "not a valid value for the map's opacity"),
    ("/attribute", ("1", "gradient", None, 1e308), "not a valid value for the map's opacity"),
    ("/feedback", (str(2**63), "right", None, [], [], "", None, "", False), "Explain a picture first"),
    ("/feedback", ("1", "right", None, [], [], ["a", "list"], None, "", False), "not a valid value"),
    ("/feedback", ("1", "right", None, "0", [], "", None, "", False), "Unknown phrase number"),
    ("/feedback", ("1", "right", None, [[1]], [], "", None, "", False), "Unknown phrase number"),
    ("/feedback", ("1", ["right"], None, [], [], "", None, "", False), "not a valid answer"),
    ("/feedback", ("1", "right", None, [], [], "", "not-a-category", "", False), "not a valid answer"),
]


@pytest.mark.parametrize("endpoint,args,expected", CALLS, ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(CALLS)])
def test_malformed_calls_get_a_sentence(server, client, endpoint, args, expected):
    with pytest.raises(Exception) as info:
        client.predict(*args, api_name=endpoint)
    message = str(info.value)
    assert expected in message, message
    assert "Traceback" not in message
    assert server.alive()


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("spot-strict"), "--rate-limit", "3", "--upload-budget-mb", "5")
    yield s
    stop_server(s)


def test_forged_forwarded_for_does_not_escape_the_address_limit(strict_server):
    """A new session, a new visitor token and a new X-Forwarded-For for every request: the address is
    the socket's (no proxy is trusted), so its limit (4 x 3 per 10 minutes) still holds."""
    accepted = refused = 0
    for i in range(20):
        headers = {"X-Forwarded-For": f"203.0.113.{i}, 198.51.100.{i}"}
        client = Client(strict_server.url, verbose=False, download_files=False, headers=headers)
        try:
            client.predict("999999", "right", None, [], [], "", None, "", False,
                           visitor=f"forged-visitor-token-{i:04d}-abcdef", api_name="/feedback")
        except Exception as exc:  # noqa: BLE001 - the message tells which refusal it was
            if "going fast" in str(exc):
                refused += 1
            else:
                assert "no such result" in str(exc) or "not yours" in str(exc), str(exc)
                accepted += 1
    assert accepted == 12 and refused == 8, (accepted, refused)
    assert strict_server.alive()
    # and the header never reaches the page as an address
    assert httpx.get(strict_server.url + "gradio_api/info", timeout=10).status_code == 200


def test_one_upload_request_cannot_carry_hundreds_of_megabytes(server):
    """Issue 14.5: /gradio_api/upload took 1,000 files of 20 MiB in one request."""
    part = b"\0" * int(1.9 * 2**20)  # under the per-file limit (2 MiB in tests) ...
    files = [("files", (f"f{i}.png", part, "image/png")) for i in range(10)]  # ... but 19 MiB in all
    r = httpx.post(server.url + "gradio_api/upload", files=files, timeout=60)
    assert r.status_code == 413 and "at most 17 MiB per request" in r.json()["detail"], r.text[:300]
    assert server.alive()


def test_uploads_per_address_are_budgeted(strict_server):
    sent = []
    for i in range(4):
        r = httpx.post(strict_server.url + "gradio_api/upload",
                       files={"files": (f"u{i}.png", b"\0" * int(1.5 * 2**20), "image/png")}, timeout=60)
        sent.append(r.status_code)
    assert sent == [200, 200, 200, 429], sent
    assert "at most 5 MiB per 10 minutes" in r.json()["detail"]


def _join_explain(server, path: str, local_address: str) -> httpx.Response:
    config = httpx.get(server.url + "config", timeout=30).json()
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "explain")
    payload = {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, None], "fn_index": fn_index,
               "session_hash": f"owner-test-{local_address}", "event_data": None, "trigger_id": None}
    with httpx.Client(transport=httpx.HTTPTransport(local_address=local_address), timeout=60) as http:
        return http.post(server.url + "gradio_api/queue/join", json=payload)


def test_another_visitors_upload_path_explains_nothing(server, tmp_path):
    """Issue 14.8: Gradio's record of uploads is global; a path learned from someone else was enough."""
    data = png_file(tmp_path / "mine.png", seed=77).read_bytes()
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1"), timeout=60) as http:
        path = http.post(server.url + "gradio_api/upload", files={"files": ("mine.png", data, "image/png")}).json()[0]
    stranger = _join_explain(server, path, "127.0.0.2")  # another address on the loopback network
    assert stranger.status_code != 200 or "event_id" not in stranger.json(), stranger.text[:300]
    assert "picture" in stranger.text.lower(), stranger.text[:300]
    owner = _join_explain(server, path, "127.0.0.1")
    assert owner.status_code == 200 and "event_id" in owner.json(), owner.text[:300]


@pytest.fixture(scope="module")
def small_queue_server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("spot-queue"), "--queue-size", "3", "--concurrency", "1")
    yield s
    stop_server(s)


def test_the_queue_size_is_the_real_size(small_queue_server, tmp_path):
    """Issue 14.9: `--queue-size 6` admitted 11 of 12 simultaneous requests."""
    import threading

    paths = [png_file(tmp_path / f"q{i}.png", seed=100 + i) for i in range(12)]
    clients = [Client(small_queue_server.url, verbose=False, download_files=False) for _ in paths]
    start = threading.Barrier(len(paths))
    answers: list[str] = []

    def ask(i: int) -> None:
        start.wait()
        try:
            clients[i].predict(handle_file(str(paths[i])), api_name="/explain")
            answers.append("ok")
        except Exception as exc:  # noqa: BLE001 - the refusal's words are checked below
            answers.append(str(exc))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(paths))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    admitted = answers.count("ok")
    refused = [a for a in answers if a != "ok"]
    assert admitted <= 3 + 1 + 1, answers  # 3 waiting + 1 running (+1 that may finish while others arrive)
    assert refused and all("Too many people are waiting" in a for a in refused), refused
    assert small_queue_server.alive()
