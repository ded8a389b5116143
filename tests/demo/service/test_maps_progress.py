"""Long work in the service: maps report progress with an estimate measured from the work, never
"done" before they are, and stop when cancelled (the page's Cancel, or the caller walking away).
Real tiny model, real SQLite store, real threads."""

from __future__ import annotations

import time

import pytest

from demo.service import AppState, UserError
from demo.service.config import parse_config
from demo.service.progress import Speeds, WorkProgress, progress_text, run_with_progress, stream_text
from storage import Store

from ..conftest import png_file


@pytest.fixture()
def app(tmp_path, tiny_detector):
    config = parse_config(["--data-dir", str(tmp_path / "data"), "--max-new-tokens", "24", "--occlusion-grid", "24"],
                          {})
    state = AppState(tiny_detector, Store.open(config.db_url, config.data_dir), config)
    yield state
    state.close()


def _prediction(app, tmp_path, name="a.png", seed=0):
    v = app.visitor("P" * 32, "page-1")
    path = str(png_file(tmp_path / name, seed=seed))
    assert app.precheck(path, v, "page-1") is None  # as the page's validator does
    views = list(app.explain(path, v, "page-1"))
    return v, views[-1].prediction_id


def _lm_passes(app):
    calls = [0]
    handle = app.detector.model.model.language_model.register_forward_hook(
        lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls, handle


def test_occlusion_reports_its_positions_and_a_measured_estimate(app, tmp_path):
    v, pid = _prediction(app, tmp_path)
    snaps = list(app.maps_progress(pid, v, "occlusion", "page-1"))
    assert snaps[0].stage == "waiting" and snaps[0].eta_s is None  # nothing measured on this server yet
    assert snaps[-1].stage == "done" and [s.stage for s in snaps].count("done") == 1
    analysis, maps = snaps[-1].result
    assert len(maps) == len(analysis.explanation.phrases) and all(m.method == "occlusion" for m in maps)
    running = [s for s in snaps[1:-1] if s.stage == "occlusion"]
    assert running and {s.total for s in running} == {24 * 24}
    assert [s.done for s in running] == sorted(s.done for s in running)
    measured = [s for s in running if s.done > 0 and s.eta_s is not None]
    assert measured, "no estimate once a batch was measured"
    # the estimate is the measured pace times the work left: it falls as the work advances
    assert measured[-1].eta_s <= measured[0].eta_s + 1e-6
    # a second picture starts with the speed measured on the first (work size x seconds a unit)
    v, pid2 = _prediction(app, tmp_path, "b.png", seed=1)
    first = next(iter(app.maps_progress(pid2, v, "occlusion", "page-1")))
    assert first.stage == "waiting" and first.eta_s is not None and first.eta_s > 0
    text = progress_text(running[-1])
    assert f"of {24 * 24} places" in text and "ready" not in text


def test_closing_the_maps_stops_the_work_and_frees_the_model(app, tmp_path):
    v, pid = _prediction(app, tmp_path)
    calls, handle = _lm_passes(app)
    try:
        steps = app.maps_progress(pid, v, "occlusion", "page-1")
        for s in steps:
            if s.stage == "occlusion" and s.done > 0:
                break
        steps.close()  # what Gradio does when the visitor cancels the event
        time.sleep(1.0)  # the worker sees the cancel at its next batch
        stopped_at = calls[0]
        time.sleep(1.0)
        assert calls[0] == stopped_at, "the worker kept computing after the cancel"
    finally:
        handle.remove()
    assert stopped_at < 1 + 24 * 24 // 16, f"{stopped_at} passes: the whole occlusion ran"
    assert app.cached_maps(pid, v, "occlusion") is None  # nothing half-done is kept
    _, maps = app.maps(pid, v, "gradient")  # the model is free again
    assert maps


def test_the_pages_cancel_button_stops_its_maps(app, tmp_path):
    v, pid = _prediction(app, tmp_path)
    steps = app.maps_progress(pid, v, "occlusion", "page-1")
    with pytest.raises(UserError, match="Maps cancelled"):
        for s in steps:
            if s.stage == "occlusion":
                assert app.cancel_work("page-1") == "maps"
    assert app.cancel_work("page-1") is None  # nothing runs any more


def test_the_estimate_follows_the_measured_pace():
    def work(report, cancel):
        for k in range(1, 6):
            time.sleep(0.3)
            report(k / 5, "maps")
        return "result"

    snaps = list(run_with_progress(work, kind="x", units=5, speeds=Speeds()))
    assert snaps[-1] == WorkProgress("done", 1.0, elapsed_s=snaps[-1].elapsed_s, eta_s=0.0, result="result")
    middle = [s for s in snaps if s.stage == "maps" and 0.2 < s.fraction < 1.0]
    for s in middle:  # 0.3 s a step, measured from the first report: what is left at that pace
        left = (1 - s.fraction) * 5 * 0.3
        assert s.eta_s == pytest.approx(left, rel=0.5)


def test_the_streams_bound_errs_long():
    assert stream_text(1, 0.5, 96) == "Writing the explanation…"  # nothing measured yet
    text = stream_text(20, 4.0, 96)  # 5 pieces a second, 76 left: at most about 15 s
    assert "4 s so far" in text and "15 s" in text
    assert "分" in stream_text(20, 40.0, 256, "zh-CN")


def test_between_slow_batches_the_time_left_counts_down():
    def work(report, cancel):
        report(0.0, "maps")
        time.sleep(0.4)
        report(0.5, "maps")  # measured: 0.4 s for half the work
        time.sleep(2.6)  # a slow batch: no report for longer than a heartbeat
        report(1.0, "maps")
        return None

    snaps = [s for s in run_with_progress(work, kind="y", units=2, speeds=Speeds()) if s.stage == "maps"]
    after = [s for s in snaps if s.fraction == 0.5]
    assert len(after) >= 2, "no heartbeat while the batch ran"
    etas = [s.eta_s for s in after]
    assert etas == sorted(etas, reverse=True) and etas[-1] < etas[0]


def test_cancel_stops_a_streaming_answer_and_keeps_nothing(app, tmp_path):
    v = app.visitor("Q" * 32, "page-2")
    path = str(png_file(tmp_path / "c.png", seed=2))
    assert app.precheck(path, v, "page-2") is None
    views = []
    for view in app.explain(path, v, "page-2"):
        views.append(view)
        if view.stage == "text":
            assert view.pieces >= 1 and view.max_tokens == 24
            assert app.cancel_work("page-2") == "explanation"
    assert views[-1].stage != "done" and views[-1].prediction_id is None  # stopped, not stored
    assert app.cancel_work("page-2") is None
