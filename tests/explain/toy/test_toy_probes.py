"""The toy evaluation's skeptic's measures: the text-only baseline, energy in the box, and the
language-prior flag on teacher-forced grounded and hallucinated phrases (issue 20)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from explain.toy import probes, world


def test_text_baseline_points_at_the_named_regions_centre():
    checked = SimpleNamespace(crop_box_f=(100.0, 0.0, 436.0, 336.0))  # 436 x 336 picture, crop offset 100
    assert probes.region_centre_model("center") == (168.0, 168.0)
    assert probes.text_baseline_hit(checked, "center", (260, 160, 280, 180))  # (268, 168) in original pixels
    assert not probes.text_baseline_hit(checked, "center", (160, 160, 180, 180))
    assert probes.text_baseline_hit(checked, "upper left", (150, 50, 160, 60))  # (156, 56)


def test_energy_share_and_the_flat_maps_share():
    grid = np.zeros((24, 24))
    grid[0, 0] = 3.0
    grid[5, 5] = 1.0
    grid[10, 10] = -7.0  # negative evidence is not energy on the artifact
    box = (0.0, 0.0, 28.0, 28.0)  # patches (0..1, 0..1)
    assert probes.energy_share(grid, box) == pytest.approx(0.75)
    assert probes.area_share(box) == pytest.approx(4 / 576)
    assert probes.energy_share(np.ones((24, 24)), box) == pytest.approx(probes.area_share(box))
    assert probes.energy_share(np.zeros((24, 24)), box) == 0.0


def test_hallucinated_pairs_name_what_is_not_there():
    for i in range(40):
        sample = world.generate(31, i, label="fake")
        kind, region = probes.hallucinated_pair(sample, np.random.default_rng(i))
        assert kind not in {a.kind for a in sample.artifacts}
        assert region not in {a.region for a in sample.artifacts}


@pytest.fixture(scope="module")
def toy_detector():
    from explain.model import load_detector

    return load_detector("toy", device="cpu")


def test_eval_reports_the_text_baseline_energy_and_prior_flags(toy_detector):
    import torch

    from explain.toy.evaluate import evaluate

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = evaluate(2027, 8, detector=toy_detector, maps="gradient", reliance=True)
    finally:
        torch.set_num_threads(before)
    assert result["pointing_n"] > 0
    for key in ("pointing_game", "pointing_text_baseline", "pointing_random", "energy_share", "energy_share_flat"):
        assert 0.0 <= result[key] <= 1.0, key
    assert result["energy_share"] > result["energy_share_flat"]  # the gradient map beats a flat one
    assert result["reliance_n"] == result["n_fake"] > 0
    for key in ("prior_flag_grounded", "prior_flag_hallucinated"):
        assert 0.0 <= result[key] <= 1.0
    assert result["reliance_per_token_median_grounded"] > result["reliance_per_token_median_hallucinated"]


def test_the_toy_model_ships_its_own_real_references(toy_detector):
    from explain.attribution.references import reference_set_pixels, references_dir
    from explain.model import TOY_MODEL_DIR

    assert references_dir(toy_detector) == TOY_MODEL_DIR / "reliance_references"
    assert reference_set_pixels(toy_detector).shape == (probes.N_REFERENCES, 3, 336, 336)
    # they are exactly what `python -m explain.toy references` writes (the world is seeded)
    from PIL import Image

    first = Image.fromarray(world.model_view(world.generate(probes.REFERENCE_SEED, 0, label="real").image))
    with Image.open(TOY_MODEL_DIR / "reliance_references" / f"real-{probes.REFERENCE_SEED}-0.png") as shipped:
        assert np.array_equal(np.asarray(shipped.convert("RGB")), np.asarray(first))


def test_the_prior_flag_fires_on_hallucinated_phrases_only(toy_detector):
    """Issue 20: against the grey square 0 % of hallucinated phrases were flagged."""
    import torch

    from explain.toy.evaluate import evaluate

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = evaluate(2029, 10, detector=toy_detector, reliance=True)
    finally:
        torch.set_num_threads(before)
    assert result["reliance_n"] >= 4
    assert result["prior_flag_hallucinated"] == 1.0 and result["prior_flag_grounded"] == 0.0


def test_in_the_anywhere_world_the_words_no_longer_give_the_place_away():
    """Issue 20: in the shipped ("inset") world the named region's centre is inside the artifact's
    box almost always, so a text-only map wins the pointing game; the "anywhere" layout ends that."""
    rates = {}
    for layout in ("inset", "anywhere"):
        hits = n = edge = 0
        for i in range(60):
            sample = world.generate(77, i, label="fake", layout=layout)
            checked = SimpleNamespace(crop_box_f=sample.crop_box)
            for a in sample.artifacts:
                n += 1
                hits += probes.text_baseline_hit(checked, a.region, a.box)
                x0, y0, x1, y1 = a.model_box
                edge += x0 < 1 or y0 < 1 or x1 > 335 or y1 > 335
                assert world.region_of_model_box(a.model_box) == a.region or x0 < 1 or y0 < 1 or x1 > 335 or y1 > 335
        rates[layout] = (hits / n, edge / n)
    assert rates["inset"][0] > 0.9 and rates["inset"][1] == 0
    assert rates["anywhere"][0] <= 0.35 and rates["anywhere"][1] > 0.05
    assert world.generate(5, 1).image.tobytes() == world.generate(5, 1, layout="inset").image.tobytes()
