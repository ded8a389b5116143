"""The toy world: deterministic, artifacts inside the visible crop, and visible to the model."""

from __future__ import annotations

import numpy as np
import pytest

from explain.intake import original_to_crop
from explain.toy import texts, world


def _same(a: world.Sample, b: world.Sample) -> bool:
    return (
        a.label == b.label
        and a.artifacts == b.artifacts
        and a.explanation == b.explanation
        and a.image.size == b.image.size
        and np.array_equal(np.asarray(a.image), np.asarray(b.image))
    )


def test_generate_is_a_pure_function_of_seed_and_index():
    assert _same(world.generate(11, 3), world.generate(11, 3))
    assert not _same(world.generate(11, 3), world.generate(12, 3))
    assert not _same(world.generate(11, 3), world.generate(11, 4))


@pytest.fixture(scope="module")
def samples() -> list[world.Sample]:
    return [world.generate(5, i) for i in range(40)]


def test_mix_of_labels_sizes_and_aspect_ratios(samples):
    labels = {s.label for s in samples}
    assert labels == {"real", "fake"}
    sizes = {s.image.size for s in samples}
    assert len(sizes) > 30
    assert any(w != h for w, h in sizes) and any(max(w, h) / min(w, h) > 1.4 for w, h in sizes)
    assert all(min(s.image.size) >= world.MODEL_SIZE for s in samples)
    assert any(len(s.artifacts) == 2 for s in samples) and any(len(s.artifacts) == 1 for s in samples)


def test_real_images_have_no_artifacts_and_fakes_one_or_two_distinct(samples):
    for s in samples:
        if s.label == "real":
            assert s.artifacts == ()
            assert s.explanation.startswith("This is a real image. ")
        else:
            assert 1 <= len(s.artifacts) <= 2
            assert len({a.kind for a in s.artifacts}) == len(s.artifacts)
            assert len({a.region for a in s.artifacts}) == len(s.artifacts)
            assert s.explanation.startswith("This is a fake image. ")
            assert texts.pairs_in(s.explanation) == {(a.kind, a.region) for a in s.artifacts}


def test_boxes_lie_inside_their_region_of_the_visible_crop(samples):
    for s in samples:
        for a in s.artifacts:
            x0, y0, x1, y1 = a.box
            assert 0 <= x0 < x1 <= s.image.width and 0 <= y0 < y1 <= s.image.height
            # map the original-pixel box into the model's 336 x 336 crop through the UI's mapping
            cx0, cy0 = original_to_crop(s.crop_box, x0, y0)
            cx1, cy1 = original_to_crop(s.crop_box, x1, y1)
            row, col = divmod(world.REGIONS.index(a.region), 3)
            cell = world.MODEL_SIZE / 3
            eps = 1e-6
            assert col * cell - eps <= cx0 < cx1 <= (col + 1) * cell + eps, (a, s.crop_box)
            assert row * cell - eps <= cy0 < cy1 <= (row + 1) * cell + eps, (a, s.crop_box)
            assert cx1 - cx0 >= 40 and cy1 - cy0 >= 40  # a few 14-px patches at least
            assert np.allclose((cx0, cy0, cx1, cy1), a.model_box)


def test_artifacts_change_only_their_boxes_and_survive_the_resize():
    """Forcing the label keeps the background (same random stream), so the difference between the
    real and fake version of one sample is exactly the planted artifacts."""
    seen = set()
    for i in range(30):
        real = world.generate(9, i, label="real")
        fake = world.generate(9, i, label="fake")
        diff = np.abs(np.asarray(real.image, np.int16) - np.asarray(fake.image, np.int16)).max(-1)
        inside = np.zeros(diff.shape, bool)
        for a in fake.artifacts:
            x0, y0, x1, y1 = a.box
            inside[y0:y1, x0:x1] = True
        assert diff[~inside].max(initial=0) == 0
        view_diff = np.abs(
            world.model_view(real.image).astype(np.int16) - world.model_view(fake.image).astype(np.int16)
        ).mean(-1)
        for a in fake.artifacts:
            mx0, my0, mx1, my1 = (int(round(v)) for v in a.model_box)
            inner = (slice(my0 + 3, my1 - 3), slice(mx0 + 3, mx1 - 3))
            if a.kind == "smoothing":
                # the film grain is gone from what the model sees: fine detail drops to under half
                before = _fine_detail(world.model_view(real.image))[inner].mean()
                after = _fine_detail(world.model_view(fake.image))[inner].mean()
                assert after < 0.5 * before, (i, before, after)
            else:
                # what the model sees inside the box changed by several grey levels on average
                assert view_diff[inner].mean() > 4, (i, a.kind)
            seen.add(a.kind)
    assert seen == set(world.KINDS)


def _fine_detail(view: np.ndarray) -> np.ndarray:
    """|pixel - mean of its 3 x 3 neighbourhood|, averaged over channels."""
    v = view.astype(np.float32)
    p = np.pad(v, ((1, 1), (1, 1), (0, 0)), mode="edge")
    local = sum(p[dy : dy + v.shape[0], dx : dx + v.shape[1]] for dy in range(3) for dx in range(3)) / 9
    return np.abs(v - local).mean(-1)


def test_patch_labels_mark_the_artifact_patches(samples):
    for s in samples:
        labels = world.patch_labels(s)
        assert labels.shape == (world.GRID, world.GRID)
        if s.label == "real":
            assert (labels == 0).all()
            continue
        for a in s.artifacts:
            x0, y0, x1, y1 = a.model_box
            r, c = int((y0 + y1) / 2 // world.PATCH), int((x0 + x1) / 2 // world.PATCH)
            assert labels[r, c] == 1 + world.KINDS.index(a.kind)
    regions = world.patch_regions()
    assert regions[0, 0] == 0 and regions[0, 23] == 2 and regions[12, 12] == 4 and regions[23, 0] == 6


def test_model_view_is_what_the_pil_clip_processor_sees(samples):
    from explain.model import pil_image_processor_class
    from explain.toy.model import PREPROCESSOR_CONFIG

    processor = pil_image_processor_class()(
        **{k: v for k, v in PREPROCESSOR_CONFIG.items() if k != "image_processor_type"}
    )
    mean = np.array(PREPROCESSOR_CONFIG["image_mean"], np.float32)
    std = np.array(PREPROCESSOR_CONFIG["image_std"], np.float32)
    for s in samples[:6]:
        expected = processor(images=s.image, return_tensors="np")["pixel_values"][0]
        mine = ((world.model_view(s.image).astype(np.float32) / 255.0 - mean) / std).transpose(2, 0, 1)
        assert np.abs(mine - expected).max() < 1e-5


def test_forced_label_is_checked():
    with pytest.raises(ValueError):
        world.generate(1, 1, label="maybe")
