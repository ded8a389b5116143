"""Progress and cancellation of attribute() on the shipped toy model: a cancelled occlusion stops
between batches (its forward passes are counted), and progress reports the work's real size."""

from __future__ import annotations

import pytest

from explain.assets import ASSETS_DIR
from explain.attribution import AttributionCancelled, attribute
from explain.attribution.progress import Stages, Step, _step, work_units
from explain.intake import check_image
from explain.model import load_detector

GRID = 12  # 144 occluder positions: 9 batches of 16 after the unoccluded pass


@pytest.fixture(scope="module")
def toy():
    detector = load_detector("toy", device="cpu")
    picture = ASSETS_DIR / "examples" / "toy-fake-two-artifacts.png"
    checked = check_image(picture.read_bytes())
    explanation = list(detector.stream(checked, max_new_tokens=64))[-1]
    assert len(explanation.phrases) >= 2
    return detector, checked, explanation


def count_language_model_passes(detector) -> tuple[list[int], object]:
    calls = [0]
    lm = detector.model.model.language_model

    def hook(*_):
        calls[0] += 1

    return calls, lm.register_forward_hook(hook)


def test_a_cancelled_occlusion_stops_within_one_batch(toy):
    detector, checked, explanation = toy
    calls, handle = count_language_model_passes(detector)
    seen: list[Step] = []
    try:
        # the whole run, for the count to compare with
        attribute(detector, checked, explanation, "occlusion", grid=GRID, with_faithfulness=False,
                  with_reliance=False)
        full = calls[0]
        calls[0] = 0
        # cancelled once the first batch of occluders is reported
        with pytest.raises(AttributionCancelled):
            attribute(detector, checked, explanation, "occlusion", grid=GRID, progress=lambda f, s: seen.append(s),
                      cancel=lambda: any(s.done > 0 for s in seen))
        cancelled = calls[0]
    finally:
        handle.remove()
    assert full >= 1 + GRID * GRID // 16  # the unoccluded pass and 9 batches
    assert cancelled <= 2, f"a cancelled run did {cancelled} forward passes (the whole run: {full})"
    assert [s.done for s in seen] == [0, 16] and seen[-1].total == GRID * GRID
    assert all(s.stage == "occlusion" for s in seen)


def test_a_cancel_before_the_start_runs_nothing(toy):
    detector, checked, explanation = toy
    calls, handle = count_language_model_passes(detector)
    try:
        with pytest.raises(AttributionCancelled):
            attribute(detector, checked, explanation, "gradient", cancel=lambda: True)
    finally:
        handle.remove()
    assert calls[0] == 0


def test_progress_weighs_stages_by_their_work(toy):
    detector, checked, explanation = toy
    seen: list[tuple[float, Step]] = []
    attribute(detector, checked, explanation, "occlusion", grid=GRID, faithfulness_steps=4,
              progress=lambda f, s: seen.append((f, s)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    maps_units, faith_units = work_units("occlusion", phrases=len(explanation.phrases), grid=GRID, ig_steps=0,
                                         faithfulness_steps=4, with_faithfulness=True)
    last_map = max(f for f, s in seen if s.stage == "occlusion")
    assert last_map == pytest.approx(maps_units / (maps_units + faith_units))
    assert {s.stage for _, s in seen} == {"occlusion", "faithfulness", "done"}


def test_steps_keep_their_counts_and_pickle():
    import pickle

    s = _step("maps", "occlusion 96/576")
    assert (s.stage, s.done, s.total, str(s)) == ("occlusion", 96, 576, "occlusion 96/576")
    again = pickle.loads(pickle.dumps(s))
    assert (again.stage, again.done, again.total, str(again)) == ("occlusion", 96, 576, "occlusion 96/576")
    assert _step("faithfulness", "faithfulness 3/9").stage == "faithfulness"
    stages = Stages(None, (10, 30), cancel=lambda: True)
    with pytest.raises(AttributionCancelled):
        stages.maps(0.5, "occlusion 1/2")
    assert work_units("occlusion", phrases=3, grid=24, ig_steps=0, faithfulness_steps=10,
                      with_faithfulness=True) == (577, 2 + 3 * 3 * 9)
