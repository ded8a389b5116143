"""The app with batched decoding forced on (CPU, toy model): four visitors arriving together are
decoded in one batch, and each gets exactly the answer the serial app gives for their picture."""

from __future__ import annotations

import re
import threading
import time

import pytest
from gradio_client import Client, handle_file

from explain.toy.world import generate

from .conftest import start_server, stop_server

CLIENTS = 4
DETAILS = 7


@pytest.fixture(scope="module")
def batched_server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("spot-batched"), "--batch-decode", "on", "--concurrency", str(CLIENTS))
    yield s
    stop_server(s)


def _answer(url: str, path) -> tuple[dict, float, float]:
    """The final details of one explanation, when its first text arrived and when it ended."""
    c = Client(url, verbose=False, download_files=False)
    first = None
    job = c.submit(handle_file(str(path)), api_name="/explain")
    last = None
    for update in job:
        last = update
        if first is None and isinstance(update[DETAILS], dict) and update[DETAILS].get("text"):
            first = time.monotonic()
    return last[DETAILS], first or time.monotonic(), time.monotonic()


def _key(details: dict) -> tuple:
    return details["text"], details["verdict"], round(details["p_fake"] or -1.0, 5), details["sha256"]


def test_four_simultaneous_visitors_each_get_their_serial_answer(batched_server, server, tmp_path):
    paths = []
    for i in range(CLIENTS):  # toy-world pictures, two of each kind, so verdicts and p_fake mean something
        path = tmp_path / f"v{i}.png"
        generate(21, i, label="fake" if i % 2 else "real").image.save(path)
        paths.append(path)
    serial = [_answer(server.url, p)[0] for p in paths]  # the serial app (plain generate), one at a time

    got: dict[int, tuple] = {}
    errors: list[str] = []
    start = threading.Barrier(CLIENTS)

    def visitor(i: int) -> None:
        try:
            start.wait(timeout=60)
            got[i] = _answer(batched_server.url, paths[i])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"visitor {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(CLIENTS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=400)
    assert not errors, errors
    assert sorted(got) == list(range(CLIENTS))
    for i in range(CLIENTS):
        assert _key(got[i][0]) == _key(serial[i]), f"visitor {i} got another answer than the serial app's"
    assert len({d["prediction_id"] for d, _, _ in got.values()}) == CLIENTS
    assert {d["verdict"] for d, _, _ in got.values()} >= {"real", "fake"}
    # all four were streaming at once: every one had its first text before the first one finished
    assert max(first for _, first, _ in got.values()) < min(end for _, _, end in got.values())
    assert f"batched decoding: up to {CLIENTS} streams together" in batched_server.log()
    # the scheduler logs each new high of streams in one decode step: visitors really shared steps
    shared = [int(n) for n in re.findall(r"most streams in one decode step so far: (\d+)", batched_server.log())]
    assert shared and max(shared) >= 2
    assert batched_server.alive()


def test_maps_run_between_decode_steps(batched_server, tmp_path):
    """A map asked for while other visitors stream is made on the batch's thread and comes back whole."""
    path = tmp_path / "m.png"
    generate(22, 1, label="fake").image.save(path)
    c = Client(batched_server.url, verbose=False, download_files=False)
    details = list(c.submit(handle_file(str(path)), api_name="/explain"))[-1][DETAILS]
    others = [threading.Thread(target=_answer, args=(batched_server.url, path)) for _ in range(2)]
    for th in others:
        th.start()
    maps = c.predict(str(details["prediction_id"]), "gradient", None, 0.7, api_name="/attribute")[4]
    for th in others:
        th.join(timeout=300)
    assert len(maps) == len(details["phrases"]) > 0
    assert batched_server.alive()
