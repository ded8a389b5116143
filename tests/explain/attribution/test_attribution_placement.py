"""Placing maps on the uploaded picture: non-square and EXIF-rotated uploads through the real intake."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from explain.attribution.placement import argmax_cell, cell_box_original, map_argmax_original, pointing_hit
from explain.intake import check_image
from explain.model import load_processor
from explain.types import PhraseMap


def one_hot(checked, row: int, col: int, side: int = 24) -> PhraseMap:
    grid = [[0.0] * side for _ in range(side)]
    grid[row][col] = 1.0
    return PhraseMap(
        0, "gradient", tuple(tuple(r) for r in grid), checked.crop_box, extra={"crop_box_f": checked.crop_box_f}
    )


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def test_landscape_upload_maps_patch_centres_by_hand():
    checked = check_image(png(np.zeros((300, 500, 3), np.uint8)))
    # 500 x 300 -> resized 560 x 336, crop columns 112..448 -> original x 100..400, all rows
    assert checked.crop_box == (100, 0, 400, 300)
    s = 300 / 336  # original pixels per model pixel
    assert map_argmax_original(one_hot(checked, 0, 0), checked) == pytest.approx((100 + 7 * s, 7 * s))
    assert map_argmax_original(one_hot(checked, 23, 23), checked) == pytest.approx((100 + 329 * s, 329 * s))
    assert map_argmax_original(one_hot(checked, 5, 17), checked) == pytest.approx((100 + 245 * s, 77 * s))
    # the map alone (no CheckedImage) carries the exact crop box too
    assert map_argmax_original(one_hot(checked, 5, 17)) == pytest.approx((100 + 245 * s, 77 * s))


def test_portrait_upload_crops_rows():
    checked = check_image(png(np.zeros((480, 320, 3), np.uint8)))
    # 320 x 480 -> resized 336 x 504, crop rows 84..420 -> original y 80..400
    x0, y0, x1, y1 = checked.crop_box_f
    assert (x0, x1) == pytest.approx((0, 320)) and (y0, y1) == pytest.approx((80, 400))
    box = cell_box_original(one_hot(checked, 0, 0), 0, 0, checked)
    assert box == pytest.approx((0, 80, 320 / 24, 80 + 320 / 24))


def exif_rotated_jpeg() -> tuple[bytes, tuple[int, int, int, int]]:
    """A 480 x 320 JPEG stored sideways (EXIF orientation 6: show rotated 90 degrees clockwise) with a
    red square at stored x 200..230, y 60..90; returns the bytes and the square as displayed."""
    rng = np.random.default_rng(0)
    stored = rng.integers(0, 60, (320, 480, 3), dtype=np.uint8)
    stored[60:90, 200:230] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(stored).save(buf, "JPEG", quality=95, exif=exif.tobytes())
    # rotating clockwise sends stored (x, y) to displayed (H - 1 - y, x), H = 320 stored rows
    return buf.getvalue(), (320 - 90, 200, 320 - 60, 230)


def test_exif_rotated_upload_cell_boxes_match_what_the_model_sees(tiny_checkpoint):
    data, square = exif_rotated_jpeg()
    checked = check_image(data)
    assert (checked.width, checked.height) == (320, 480)
    # where is the red square in the pixels the model receives? (the project's processor, PIL path)
    processor = load_processor(tiny_checkpoint)
    pixels = processor.image_processor(images=checked.image, return_tensors="pt")["pixel_values"][0]
    redness = pixels[0] - pixels[1:].mean(0)  # (336, 336)
    per_patch = redness.reshape(24, 14, 24, 14).mean((1, 3))
    row, col = divmod(int(per_patch.argmax()), 24)
    phrase_map = one_hot(checked, row, col)
    cx0, cy0, cx1, cy1 = cell_box_original(phrase_map, row, col, checked)
    x0, y0, x1, y1 = square
    assert x0 <= (cx0 + cx1) / 2 < x1 and y0 <= (cy0 + cy1) / 2 < y1
    assert pointing_hit(phrase_map, checked, square)
    assert not pointing_hit(phrase_map, checked, (0, 0, 100, 100))


def test_argmax_of_a_block_is_its_centre():
    grid = torch.zeros(24, 24)
    grid[4:6, 10:12] = 3.0  # an occlusion cell of 2 x 2 patches
    assert argmax_cell(grid.tolist()) == (4.5, 10.5)
    with pytest.raises(ValueError):
        argmax_cell([[math.nan] * 24] * 24)
