"""attribute() and maps_to_json() on a real Detector (the project's tiny random checkpoint)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from explain.attribution import AttributionError, attribute, maps_to_json, occlusion_grids, scorer_for
from explain.decoding import IncrementalDecoder
from explain.intake import check_image
from explain.phrases import split_phrases
from explain.types import Explanation, Timings
from tests.conftest import png_bytes

TEXT = "This is a fake image. The skin looks overly smooth; the lighting is inconsistent."


def explanation_for(detector, text: str = TEXT) -> Explanation:
    ids = detector.tokenizer.encode(text, add_special_tokens=False)
    decoder = IncrementalDecoder(detector.tokenizer)
    for t in ids:
        decoder.push(t)
    decoded, ends = decoder.finish()
    verdict_index = next(i for i, t in enumerate(ids) if t == detector.verdict_ids["fake"])
    return Explanation(
        decoded, tuple(ids), "fake", 0.9, split_phrases(decoded, ends), Timings(), verdict_token_index=verdict_index
    )


@pytest.fixture(scope="module")
def case(tiny_detector):
    checked = check_image(png_bytes(500, 300, seed=3))
    return tiny_detector, checked, explanation_for(tiny_detector)


def reference_phrase_scores(detector, checked, explanation) -> list[float]:
    inputs = detector.prepare(checked)
    answer = torch.tensor([explanation.token_ids])
    full = torch.cat([inputs["input_ids"], answer], 1)
    with torch.no_grad():
        logits = detector.model(input_ids=full, pixel_values=inputs["pixel_values"]).logits
    n = inputs["input_ids"].shape[1]
    logp = torch.log_softmax(logits[0, n - 1 : -1].float(), -1).gather(-1, answer.view(-1, 1)).squeeze(-1)
    return [float(logp[p.token_start : p.token_end].sum()) for p in explanation.phrases]


def test_gradient_maps_for_every_phrase(case):
    detector, checked, explanation = case
    assert len(explanation.phrases) == 3
    seen = []
    maps = attribute(detector, checked, explanation, progress=lambda f, msg: seen.append(f), faithfulness_steps=4)
    assert [m.phrase_index for m in maps] == [0, 1, 2]
    for m, ref in zip(maps, reference_phrase_scores(detector, checked, explanation), strict=True):
        assert m.method == "gradient"
        assert len(m.grid) == 24 and all(len(r) == 24 for r in m.grid)
        assert all(math.isfinite(v) for r in m.grid for v in r)
        assert m.crop_box == checked.crop_box == (100, 0, 400, 300)
        assert m.extra["crop_box_f"] == checked.crop_box_f
        assert m.score == pytest.approx(ref, abs=1e-4)
        assert m.reliance == pytest.approx(m.score - m.extra["reference_score"], abs=1e-4)
        assert 0 < m.deletion_auc <= 1 and 0 < m.insertion_auc <= 1
        assert len(m.extra["deletion_curve"]) == 5
        # the default gradient map is a magnitude; its sign convention is recorded
        assert m.extra["signed"] is False and min(min(r) for r in m.grid) >= 0
        assert m.extra["faithfulness_baseline"] == "zeros" and "baseline" not in m.extra
    assert seen == sorted(seen) and seen[-1] == 1.0


@pytest.mark.parametrize("method, kw", [("occlusion", {"grid": 3}), ("ig", {"ig_steps": 2})])
def test_other_methods(case, method, kw):
    detector, checked, explanation = case
    maps = attribute(detector, checked, explanation, method, with_faithfulness=False, **kw)
    assert [m.method for m in maps] == [method] * 3
    assert maps[0].deletion_auc is None and maps[0].reliance is not None
    assert maps[0].extra["signed"] is True
    if method == "occlusion":
        assert len({v for r in maps[0].grid for v in r}) <= 9  # one value per cell
        # a third of the crop: 3 cells -> the cell alone
        assert (maps[0].extra["window"], maps[0].extra["smooth"], maps[0].extra["occlusion_mode"]) == (1, 0, "deletion")
        assert maps[0].extra["baseline"] == "grain"
    else:  # issue 20: IG from the grain picture, and marked experimental
        assert maps[0].extra["baseline"] == "grain" and maps[0].extra["experimental"] is True


def test_occlusion_defaults_to_centred_occluders_a_third_of_the_crop_wide(case):
    detector, checked, explanation = case
    maps = attribute(detector, checked, explanation, "occlusion", with_reliance=False, with_faithfulness=False)
    scorer = scorer_for(detector, checked, explanation)
    expected = occlusion_grids(scorer, grid=24, window=9, smooth=1, baseline="grain")
    settings = [(m.extra["cells"], m.extra["window"], m.extra["smooth"], m.extra["baseline"]) for m in maps]
    assert settings == [(24, 9, 1, "grain")] * 3  # odd: centred on one-patch cells
    coarse = attribute(
        detector, checked, explanation, "occlusion", grid=12, with_reliance=False, with_faithfulness=False
    )
    assert (coarse[0].extra["window"], coarse[0].extra["smooth"]) == (4, 1)
    for m, grid in zip(maps, expected, strict=True):
        torch.testing.assert_close(torch.tensor(m.grid), grid, rtol=1e-4, atol=1e-5)
        assert len({v for r in m.grid for v in r}) > 1


def test_pixel_occlusion_deletes_with_a_picture(case):
    detector, checked, explanation = case
    maps = attribute(detector, checked, explanation, "occlusion", layer="patch_embed", grid=2, with_faithfulness=False)
    assert maps[0].extra["occlusion_mode"] == "deletion" and maps[0].extra["baseline"] == "grain"
    assert len({v for r in maps[0].grid for v in r}) <= 4


def test_verdict_word_gets_its_own_map(case):
    detector, checked, explanation = case
    maps = attribute(detector, checked, explanation, verdict_token=True, with_reliance=False, with_faithfulness=False)
    assert [m.phrase_index for m in maps] == [0, 1, 2, -1]
    assert maps[-1].extra["n_tokens"] == 1
    assert maps[-1].score is None and maps[-1].reliance is None


def test_patch_embed_layer(case):
    detector, checked, explanation = case
    maps = attribute(detector, checked, explanation, layer="patch_embed", with_faithfulness=False)
    assert maps[0].extra["layer"] == "patch_embed"


def test_none_and_empty(case):
    detector, checked, explanation = case
    assert attribute(detector, checked, explanation, "none") == []
    empty = Explanation("", (), "undecided", None, (), Timings())
    assert attribute(detector, checked, empty) == []


def test_bad_requests_are_refused_in_words(case):
    detector, checked, explanation = case
    with pytest.raises(AttributionError, match="unknown attribution method"):
        attribute(detector, checked, explanation, "lime")
    with pytest.raises(AttributionError, match="unknown attribution layer"):
        attribute(detector, checked, explanation, layer="pixels")
    broken = Explanation(explanation.text, explanation.token_ids[:3], "fake", None, explanation.phrases, Timings())
    with pytest.raises(AttributionError, match="covers tokens"):
        attribute(detector, checked, broken)


def test_maps_to_json(case):
    detector, checked, explanation = case
    maps = attribute(detector, checked, explanation, faithfulness_steps=2)
    records = json.loads(json.dumps(maps_to_json(maps), allow_nan=False))
    assert len(records) == 3
    r = records[1]
    assert r["phrase_index"] == 1 and r["method"] == "gradient"
    assert len(r["grid"]) == 24 and len(r["grid"][0]) == 24
    assert r["grid"][3][4] == pytest.approx(maps[1].grid[3][4], rel=1e-3, abs=1e-12)
    assert r["crop_box"] == list(checked.crop_box)
    assert r["reliance"] == pytest.approx(maps[1].reliance, rel=1e-5)
    assert r["deletion_curve"][0] == pytest.approx(maps[1].extra["deletion_curve"][0], rel=1e-5)
    assert r["fractions"] == [0.0, 0.5, 1.0]
    # deletion beside a random ranking; insertion (random maps score as high as real ones) not shown
    assert r["deletion_auc_random"] == pytest.approx(maps[1].extra["deletion_auc_random"], rel=1e-5)
    assert len(r["deletion_curve_random"]) == 3
    assert "insertion_auc" not in r and "insertion_curve" not in r


def test_maps_to_json_turns_non_finite_numbers_into_null():
    from explain.types import PhraseMap

    grid = tuple(tuple([math.nan] + [0.0] * 23) for _ in range(24))
    m = PhraseMap(0, "gradient", grid, (0, 0, 1, 1), score=-math.inf, reliance=None)
    (r,) = maps_to_json([m])
    assert r["grid"][0][0] is None and r["score"] is None
    json.dumps(r, allow_nan=False)


def test_reliance_uses_the_detectors_real_reference_pictures(case, tmp_path, monkeypatch):
    """Issue 20: a folder of reference pictures replaces the grey square, and maps say which was used."""
    from explain.attribution import references
    from explain.attribution.references import reference_set_pixels

    detector, checked, explanation = case
    monkeypatch.setattr(references, "REPO_REFERENCES", tmp_path / "none")  # as if the repo shipped none
    grey = attribute(detector, checked, explanation, with_faithfulness=False)
    assert {m.extra["reliance_reference"] for m in grey} == {"grey"} and reference_set_pixels(detector) is None
    for i in range(2):
        png = png_bytes(320, 320, seed=10 + i)
        (tmp_path / f"ref-{i}.png").write_bytes(png)
    detector.reliance_references_dir = tmp_path
    try:
        maps = attribute(detector, checked, explanation, with_faithfulness=False)
        pictures = reference_set_pixels(detector)
    finally:
        detector.reliance_references_dir = None
    assert pictures.shape[0] == 2
    on_refs = [
        reference_phrase_scores(detector, check_image(png_bytes(320, 320, seed=10 + i)), explanation) for i in range(2)
    ]
    for k, m in enumerate(maps):
        assert m.extra["reliance_reference"] == "real" and "neutral_score" not in m.extra
        assert m.extra["reference_score"] == pytest.approx((on_refs[0][k] + on_refs[1][k]) / 2, abs=1e-3)
        assert m.reliance == pytest.approx(m.score - m.extra["reference_score"], abs=1e-4)


def test_fakevlm_reliance_uses_the_shipped_photographs(case):
    """Issue 20: FakeVLM (any non-toy checkpoint without its own folder) is scored against the real
    photographs in assets/reliance-references/, not the grey square."""
    from explain.attribution.references import REPO_REFERENCES, picture_paths, references_dir

    detector, checked, explanation = case
    assert references_dir(detector) == REPO_REFERENCES and len(picture_paths(REPO_REFERENCES)) >= 4
    maps = attribute(detector, checked, explanation, with_faithfulness=False)
    assert {m.extra["reliance_reference"] for m in maps} == {"real"}


def test_every_shipped_reference_photograph_states_its_source_and_licence():
    from explain.attribution.references import REPO_REFERENCES, picture_paths

    readme = (REPO_REFERENCES / "README.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line for line in readme.splitlines()
            if line.startswith("| `")}
    assert {p.name for p in picture_paths(REPO_REFERENCES)} == set(rows)
    assert all(("CC0" in row or "public domain" in row) and "http" in row for row in rows.values())
