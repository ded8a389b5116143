"""AppState without a server: the stream's stages, privacy between visitors, rate limits, reviewers,
the model lock; plus the HTML cards and the Plotly figures. Real tiny model, real SQLite store."""

from __future__ import annotations

import queue
import shutil
import threading
import time
import zipfile

import pytest

from demo import cards, figures
from demo.handlers import Handlers
from demo.service import AppState, FeedbackForm, ModelLock, RateLimiter, Reviewer, UserError, finished_phrases
from demo.service.config import parse_config
from explain.types import PhraseMap
from storage import Store

from ..conftest import png_file


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def app(tmp_path, tiny_detector):
    config = parse_config(["--data-dir", str(tmp_path / "data"), "--rate-limit", "3", "--max-new-tokens", "24"],
                          {"SPOT_ADMIN_TOKEN": "right-token-123456"})
    store = Store.open(config.db_url, config.data_dir)
    clock = Clock()
    state = AppState(tiny_detector, store, config, clock=clock)
    state.test_clock = clock
    yield state
    state.close()
    store.close()


def _run(app: AppState, path, visitor):
    views = list(app.explain(str(path), visitor))
    return views, views[-1].prediction_id


def test_stream_stages_and_stored_prediction(app, tmp_path):
    v = app.visitor("A" * 32, "session-a")
    views, pid = _run(app, png_file(tmp_path / "a.png"), v)
    stages = [x.stage for x in views]
    assert stages[0] == "checked" and stages[-1] == "done"
    assert stages.count("verdict") <= 1 and "text" in stages
    assert views[0].view.size == (336, 336)
    p = app.store.get_prediction(pid, v.client_hash)
    assert p is not None and p.text == views[-1].text and p.provenance is not None


def test_visitors_see_only_their_own(app, tmp_path):
    a, b = app.visitor("A" * 32, "s1"), app.visitor("B" * 32, "s2")
    assert a.client_hash != b.client_hash
    assert app.visitor("A" * 32, "another-session").client_hash == a.client_hash  # the browser token wins
    _, pid = _run(app, png_file(tmp_path / "a.png"), a)
    with pytest.raises(UserError, match="not yours"):
        app.maps(pid, b)
    with pytest.raises(UserError, match="not yours"):
        app.feedback(FeedbackForm(pid, verdict="right"), b)
    with pytest.raises(UserError, match="not yours"):
        app.reopen(pid, b, None)
    assert app.explorer_rows(b, None) == []
    _, maps = app.maps(pid, a)
    n = len(app._analysis(pid, a).explanation.phrases)
    assert len(maps) == n
    seen: list[float] = []
    _, occ = app.maps(pid, a, "occlusion", progress=lambda f, m: seen.append(f))
    assert len(occ) == n and {m.method for m in occ} == {"occlusion"}
    assert {m.extra["cells"] for m in occ} == {app.config.occlusion_grid} == {24}
    assert seen and seen[-1] == 1.0  # the progress bar is fed to the end
    assert app.maps(pid, a, "occlusion")[1] is occ  # computed once, then from memory
    fid, updated = app.feedback(FeedbackForm(pid, verdict="right", consent=False), a)
    assert not updated
    # maps are written in the background, before the feedback (one writer, in order)
    assert {m.method for m in app.store.get_maps(pid, a.client_hash)} == {"gradient", "occlusion"}
    assert [r["prediction"] for r in app.explorer_rows(a, None)] == [pid]
    # a reviewer sees everyone's feedback, but no picture without consent
    reviewer = app.login_with_token("right-token-123456", b)
    rows = app.explorer_rows(b, reviewer)
    assert [r["feedback"] for r in rows] == [fid]
    assert app.reopen(pid, b, reviewer).image is None
    app.feedback(FeedbackForm(pid, verdict="right", consent=True), a)
    assert app.reopen(pid, b, reviewer).image is not None


def test_rate_limit_per_visitor_and_address(app, tmp_path):
    path = png_file(tmp_path / "a.png")
    v = app.visitor("C" * 32, "s", "10.0.0.9")
    for _ in range(3):
        _run(app, path, v)
    assert app.precheck(str(path), v) is not None
    with pytest.raises(UserError, match="going fast"):
        _run(app, path, v)
    app.test_clock.now += 601
    assert app.precheck(str(path), v) is None
    # many pseudonyms from one address are still slowed down (in-memory address key)
    limiter = RateLimiter(2, clock=app.test_clock)
    assert limiter.hit("x") == 0 and limiter.hit("x") == 0 and limiter.hit("x") > 0


def test_feedback_validation_messages(app, tmp_path):
    v = app.visitor("D" * 32, "s")
    _, pid = _run(app, png_file(tmp_path / "a.png"), v)
    for form, words in [(FeedbackForm(pid), "at least one"), (FeedbackForm(pid, agree=[0], disagree=[0]), "both"),
                        (FeedbackForm(pid, verdict="maybe"), "not a valid"),
                        (FeedbackForm(pid, category="cats"), "not a valid"),
                        (FeedbackForm(pid, agree=["x"]), "Unknown phrase"), (FeedbackForm(None, verdict="right"),
                                                                              "Explain a picture first")]:
        with pytest.raises(UserError, match=words):
            app.feedback(form, v)


def test_reviewer_login_review_and_export(app, tmp_path):
    v = app.visitor("E" * 32, "s")
    with pytest.raises(UserError, match="not right"):
        app.login_with_token("wrong", v)
    with pytest.raises(UserError, match="Only reviewers"):
        app.export(None)
    reviewer = app.login_with_token("right-token-123456", v)
    _, pid = _run(app, png_file(tmp_path / "a.png"), v)
    fid, _ = app.feedback(FeedbackForm(pid, verdict="wrong", true_label="real",
                                       corrected="This is a real image. It is noise.", category="object",
                                       consent=True), v)
    with pytest.raises(UserError, match="Only reviewers"):
        app.review(fid, "accepted", None)
    app.review(fid, "accepted", reviewer)
    archive, count, skipped = app.export(reviewer)
    assert (count, skipped) == (1, {})
    with zipfile.ZipFile(archive) as z:
        assert "fakeclue.json" in z.namelist()
    for _ in range(10):  # token guessing is rate limited too
        try:
            app.login_with_token("guess", v)
        except UserError:
            pass
    with pytest.raises(UserError, match="going fast"):
        app.login_with_token("right-token-123456", v)


def test_oauth_reviewers_come_from_the_allow_list(tmp_path, tiny_detector):
    config = parse_config(["--data-dir", str(tmp_path)], {"SPOT_REVIEWERS": "Alice"})
    with Store.open(config.db_url, config.data_dir) as store:
        app = AppState(tiny_detector, store, config)
        assert app.login_with_profile("alice") == Reviewer("alice", "huggingface")
        assert app.login_with_profile(None) is None
        with pytest.raises(UserError, match="not on this Space's reviewer list"):
            app.login_with_profile("mallory")


def test_model_lock_keeps_attribution_alone():
    lock, events = ModelLock(), []

    def reader(name: str) -> None:
        with lock.shared():
            events.append(f"{name}+")
            time.sleep(0.05)
            events.append(f"{name}-")

    def writer() -> None:
        with lock.exclusive():
            events.append("W+")
            time.sleep(0.05)
            events.append("W-")

    threads = [threading.Thread(target=reader, args=("a",)), threading.Thread(target=reader, args=("b",))]
    threads[0].start()
    time.sleep(0.01)
    threads.append(threading.Thread(target=writer))
    threads[-1].start()
    time.sleep(0.01)
    threads[1].start()
    for t in threads:
        t.join()
    w = events.index("W+")
    assert events[w + 1] == "W-", events  # nothing ran while the writer held the model
    assert events.index("a-") < w  # it waited for the running reader
    assert events.index("b+") > w  # and a later reader waited for it


def test_upload_path_must_be_in_the_upload_folder(app, tmp_path):
    h = Handlers(app, str(tmp_path / "uploads"))
    (tmp_path / "uploads").mkdir()
    inside = png_file(tmp_path / "uploads" / "x.png")
    assert h.upload_path({"path": str(inside)}) == str(inside.resolve())
    for bad in ({"path": "/etc/passwd"}, {"path": str(tmp_path / "uploads" / ".." / "x.png")}, "/etc/passwd", {}):
        with pytest.raises(UserError):
            h.upload_path(bad)


def test_finished_phrases_hold_back_the_unfinished_one():
    assert finished_phrases("This is a fake image. The sky", False) == ("This is a fake image.",)
    assert finished_phrases("This is a fake image. The sky", True) == ("This is a fake image.", "The sky")
    assert finished_phrases("", False) == ()


def test_verdict_card_escapes_and_shows_the_uncertain_band():
    card = cards.verdict_card("fake", 0.55)
    assert "data-uncertain" in card and "55%" in card
    assert "data-uncertain" not in cards.verdict_card("fake", 0.93)
    assert "data-uncertain" not in cards.verdict_card("real", None)
    assert "no probability" in cards.verdict_card("real", None)
    panel = cards.evidence_panel({"findings": [{"kind": "camera", "strength": "moderate", "points_to": "camera",
                                                "title": "<script>x</script>", "meaning": "a & b"}], "errors": []})
    assert "<script>" not in panel and "&lt;script&gt;" in panel and "a &amp; b" in panel
    assert "moderate" in panel and "points to a camera" in panel
    assert "spot-verdict" not in panel  # context only: the panel never carries a verdict of its own


def _map(grid_value: float = 1.0, crop=(100, 0, 400, 300)) -> PhraseMap:
    grid = tuple(tuple(grid_value * (r - c) for c in range(24)) for r in range(24))
    return PhraseMap(0, "gradient", grid, crop)


def test_heatmap_sits_on_the_crop_box_with_dimmed_margins():
    from PIL import Image

    img = Image.new("RGB", (500, 300), (10, 20, 30))
    fig = figures.heatmap_figure(img, img.size, _map(), title="phrase")
    heat = next(t for t in fig.data if t.type == "heatmap")
    assert heat.x0 == pytest.approx(100 + 300 / 48) and heat.dx == pytest.approx(300 / 24)
    assert heat.y0 == pytest.approx(300 / 48) and heat.dy == pytest.approx(300 / 24)
    assert heat.zmid is None and heat.zmin == -heat.zmax  # symmetric: 0 sits at the transparent middle
    assert "of the evidence for “phrase”" in heat.customdata[20][0]  # a sentence, not a raw score
    dims = [s for s in fig.layout.shapes if s.fillcolor and "0.62" in s.fillcolor]
    assert sorted((s.x0, s.x1) for s in dims) == [(0, 100), (400, 500)]  # left and right were not seen
    outline = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert [(o.x0, o.y0, o.x1, o.y1) for o in outline] == [(100, 0, 400, 300)]
    assert fig.layout.yaxis.range[0] == 300  # image convention: y grows downwards
    square = figures.heatmap_figure(None, (300, 300), _map(crop=(0, 0, 300, 300)))
    assert not [s for s in square.layout.shapes if s.fillcolor and "0.62" in s.fillcolor]


def test_small_multiples_one_panel_per_phrase():
    from PIL import Image

    img = Image.new("RGB", (400, 400))
    fig = figures.small_multiples(img, img.size, [_map(), _map(2.0), _map(3.0)], ["a", "b", "c"])
    assert sum(t.type == "heatmap" for t in fig.data) == 3
    assert [a.text for a in fig.layout.annotations][:3] == ["a", "b", "c"]


def test_explorer_handlers_for_visitor_and_reviewer(app, tmp_path):
    """The explorer tab's handlers, called as Gradio calls them (no request: a visitor token only)."""
    h = Handlers(app, str(tmp_path))
    token = h.on_load(None)
    assert app.valid_token(token) and h.on_load(token) == token
    v = app.visitor(token, None)
    _, pid = _run(app, png_file(tmp_path / "a.png"), v)
    app.feedback(FeedbackForm(pid, verdict="wrong", true_label="real", category="object", consent=True), v)
    frame, note = h.explorer(None, "yes", None, None, None, token)  # "where visitors disagreed"
    assert list(frame["No."]) == [pid] and frame["Disagreement"][0] == "yes" and note == ""
    assert frame["Visitor says"][0] == "verdict wrong" and frame["Category"][0] == "object"
    assert h.explorer(None, "no", None, None, None, token)[0].empty  # "did not disagree": not this one
    frame, note = h.explorer("real", None, None, None, None, h.on_load(None))  # another browser: nothing
    assert frame.empty and note
    card, text, fb, plot, fid, status = h.explorer_open(str(pid), 0.7, None, token)
    assert "data-verdict" in card and "The verdict was wrong." in fb and f"data-feedback='{fid}'" in fb
    assert f"#{pid}" in status
    with pytest.raises(Exception, match="not yours"):
        h.explorer_open(str(pid), 0.7, None, h.on_load(None))
    message = h.login("right-token-123456", h.on_load(None))
    assert "reviewer" in message
    reviewer_token = "right-token-123456"  # stays in the page's token field: every reviewer action shows it
    assert "accepted" in h.review(fid, "accepted", reviewer_token)
    path, message = h.export(reviewer_token)
    # no corrected explanation was given, so nothing is fit for training, and the reviewer is told why
    assert path.endswith(".zip") and "Exported 0 records" in message and "no corrected or confirmed" in message


def test_gpu_work_arguments_cross_a_process_boundary(app, tmp_path):
    """On ZeroGPU the GPU functions' arguments are pickled into a worker: they must pickle, and
    off ZeroGPU the decorator must leave the function as it is."""
    import pickle

    import gradio as gr

    from demo.service import ProgressReporter, gpu
    from demo.service.progress import CancelToken, Reporter

    v = app.visitor("F" * 32, "s")
    _, pid = _run(app, png_file(tmp_path / "a.png"), v)
    a = app._analysis(pid, v)
    args = pickle.loads(pickle.dumps((a.checked, a.explanation, "occlusion", ProgressReporter(gr.Progress()))))
    assert args[0].sha256 == a.checked.sha256 and args[1] == a.explanation
    # what the maps' progress and cancel send along: they cross as inert copies (a forked call
    # cannot report back or be reached), and never stop the pickling
    token = CancelToken()
    token.cancel()
    reporter, copy = pickle.loads(pickle.dumps((Reporter(queue.Queue()), token)))
    reporter(0.5, "occlusion 1/2")
    assert copy() is False and token() is True

    def f(x):
        return x

    assert gpu(10)(f) is f


def test_a_picture_sent_before_the_token_arrived_stays_the_visitors(app, tmp_path):
    early = app.visitor(None, "page-session")  # the browser's token not loaded yet
    _, pid = _run(app, png_file(tmp_path / "a.png"), early)
    later = app.visitor("G" * 32, "page-session")  # same page, token now known
    app.maps(pid, later)
    fid, _ = app.feedback(FeedbackForm(pid, verdict="right"), later)
    assert fid >= 1
    with pytest.raises(UserError, match="not yours"):
        app.maps(pid, app.visitor("G" * 32, "another-page"))  # the alias is the page's, not the token's


def test_one_outlier_cell_does_not_wash_out_the_map():
    grid = [[0.001 * ((r + c) % 5 - 2) for c in range(24)] for r in range(24)]
    grid[4][4] = 0.5  # fifty times the rest, as gradient maps often have
    heat = next(t for t in figures.heatmap_figure(None, (336, 336), PhraseMap(1, "gradient", tuple(map(tuple, grid)),
                                                                              (0, 0, 336, 336))).data
                if t.type == "heatmap")
    # on the evidence scale (percent of the positive mass): the bound is the 99th percentile, not the outlier
    positive = sum(v for row in grid for v in row if v > 0)
    assert heat.zmax == pytest.approx(100 * 0.002 / positive) and heat.zmin == -heat.zmax
    assert figures.robust_bound([[0.0, 0.0]]) == 1.0  # an all-zero map still gets a valid scale


def test_auto_on_a_machine_without_fakevlm_serves_the_toy_with_a_banner(tmp_path, monkeypatch):
    """`python app.py` on a fresh machine: the toy model, and a banner saying why and how to get FakeVLM."""
    import json

    from demo.ui import build_demo
    from explain.model import load_detector

    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = parse_config(["--data-dir", str(tmp_path)], {})
    with Store.open(config.db_url, config.data_dir) as store:
        app = AppState(load_detector(config.model, device="cpu"), store, config)
        demo = build_demo(app)
        config_file = demo.get_config_file()
        page = json.dumps(config_file, default=str)
    assert app.is_toy
    assert "Serving the toy model because" in page and "only knows the planted toy artifacts" in page
    assert "licence" in page
    named = {d.get("api_name") for d in config_file["dependencies"] if d.get("api_visibility") != "private"}
    assert {"explain", "attribute", "feedback"} <= named


def test_reviewer_rights_are_checked_at_every_action_not_kept_in_the_session(app, tmp_path):
    """Issue 14.7: signing in once gave the page's session reviewer rights, and the session id travels in
    URLs. Now each reviewer action shows the token (or the sign-in cookie) again."""
    h = Handlers(app, str(tmp_path))
    token = h.on_load(None)
    v = app.visitor(token, None)
    _, pid = _run(app, png_file(tmp_path / "a.png"), v)
    fid, _ = app.feedback(FeedbackForm(pid, verdict="wrong", true_label="real"), v)
    assert "reviewer" in h.login("right-token-123456", token)
    stranger = h.on_load(None)
    with pytest.raises(Exception, match="Only reviewers can do that"):
        h.review(fid, "accepted", None, stranger)  # same handlers, no token: no rights
    with pytest.raises(Exception, match="Only reviewers can do that"):
        h.export(None, stranger)
    frame, _ = h.explorer(None, False, None, None, None, stranger)
    assert frame.empty  # a visitor's own (empty) history, not everyone's feedback
    with pytest.raises(Exception, match="token is not right"):
        h.explorer(None, False, None, None, "a-guessed-token", stranger)
    frame, _ = h.explorer(None, False, None, None, "right-token-123456", stranger)
    assert list(frame["No."]) == [pid]


def test_a_picture_that_cannot_be_written_gets_a_sentence_and_loses_nothing(app, tmp_path):
    """Issue 14.6: a failed picture write (disk full, read-only folder) showed a bare "Error"."""
    v = app.visitor("G" * 32, "s")
    _, pid = _run(app, png_file(tmp_path / "a.png"), v)
    images = app.store.data_dir / "images"
    shutil.rmtree(images, ignore_errors=True)
    images.write_bytes(b"a file where the picture folder belongs: every picture write fails, even as root")
    with pytest.raises(UserError, match="Could not save: the picture could not be written to disk"):
        app.feedback(FeedbackForm(pid, verdict="right", consent=True), v)
    assert app.store.get_prediction(pid, v.client_hash) is not None  # what was stored is still there
    assert app.store.get_feedback(pid, v.client_hash) is None  # and the failed write left nothing half-done
    fid, _ = app.feedback(FeedbackForm(pid, verdict="right", consent=False), v)
    assert app.store.get_feedback(pid, v.client_hash).id == fid


def test_guessing_the_reviewer_token_from_one_address_is_stopped(app):
    """Issue 14.3: 200 reviewer-token guesses went through with a new visitor token each time."""
    refused = 0
    for i in range(30):
        v = app.visitor(f"guesser-browser-token-{i:04d}", f"session-{i}", "203.0.113.9")
        try:
            app.login_with_token(f"guess-{i}", v)
        except UserError as exc:
            refused += "going fast" in str(exc)
    assert refused == 10  # 20 wrong tokens per address, then no more tries
    with pytest.raises(UserError, match="going fast"):
        app.login_with_token("right-token-123456", app.visitor("a-fresh-browser-token-xyz", "s", "203.0.113.9"))
    assert app.login_with_token("right-token-123456", app.visitor("B" * 32, "t", "203.0.113.10")).via == "token"


def test_a_newer_picture_on_the_page_stops_the_older_stream(app, tmp_path):
    """Issue 14.1: a second picture uploaded while the first still streamed got the first one's chips
    and maps. Now the newer picture takes over the page as soon as it is checked: the older stream stops
    at its next token, stores nothing, and its prediction is never drawn on that page again."""
    v = app.visitor("H" * 32, "page-1")
    first, second = png_file(tmp_path / "first.png", seed=1), png_file(tmp_path / "second.png", seed=2)
    assert app.precheck(str(first), v, "page-1") is None
    stream = app.explain(str(first), v, "page-1")
    assert next(stream).stage == "checked" and next(stream).stage == "text"
    assert app.precheck(str(second), v, "page-1") is None  # the visitor drops a new picture
    assert [x.stage for x in stream] == []  # the first stops at once, without a "done"
    views = list(app.explain(str(second), v, "page-1"))
    pid = views[-1].prediction_id
    assert views[-1].stage == "done" and app.is_current("page-1", pid)
    assert [r["prediction"] for r in app.explorer_rows(v, None)] == [pid]  # the first was never stored
    assert app.is_current("another-page", pid)  # pages are followed separately
    app.pages.start("page-1", None)  # the picture is removed
    assert not app.is_current("page-1", pid)


def test_new_maps_are_rate_limited_like_explanations(app, tmp_path):
    """Issue 14: maps take the model alone, and had no limit at all. Cached maps stay free."""
    v = app.visitor("J" * 32, "s")
    pids = [_run(app, png_file(tmp_path / f"m{i}.png", seed=50 + i), v)[1] for i in range(3)]
    for pid in pids:
        app.maps(pid, v, "gradient")
    app.maps(pids[0], v, "gradient")  # already made: no model call, not counted
    with pytest.raises(UserError, match="going fast"):
        app.maps(pids[0], v, "occlusion")


def test_rule_and_preprocessing_are_stored_with_the_prediction(tmp_path, tiny_checkpoint):
    """Issue 18: the app's --rule reaches the detector (as app.py loads it) and, with --preprocess, the row."""
    from explain.model import load_detector

    config = parse_config(["--data-dir", str(tmp_path / "data"), "--max-new-tokens", "4", "--rule", "substring",
                           "--preprocess", "paper"], {})
    detector = load_detector(str(tiny_checkpoint), device="cpu", rule=config.rule)
    with Store.open(config.db_url, config.data_dir) as store:
        state = AppState(detector, store, config)
        try:
            v = state.visitor("C" * 32, "session-c")
            _, pid = _run(state, png_file(tmp_path / "c.png"), v)
            p = store.get_prediction(pid, v.client_hash)
            assert (p.rule, p.preprocess) == ("substring", "paper")
        finally:
            state.close()
