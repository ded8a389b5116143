"""Placing 24 x 24 maps on the uploaded picture, and the pointing game.

The grid's row r, column c is the 14-px patch at rows [14r, 14r + 14) and columns [14c, 14c + 14)
of the 336 x 336 centre crop the model saw. The crop is a box in original (EXIF-rotated) pixels
(`CheckedImage.crop_box_f`, exact floats; `crop_box`, the integer box covering it); the helpers of
explain.intake move points and cells between the two, so any renderer can overlay a map.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..intake import MODEL_SIZE, crop_to_original, grid_cell_box
from ..types import PhraseMap

BoxF = tuple[float, float, float, float]


def grid_tuple(grid: Tensor) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in grid.tolist())


def crop_box_f_of(phrase_map: PhraseMap, checked=None) -> BoxF:
    if checked is not None:
        return tuple(float(v) for v in checked.crop_box_f)  # type: ignore[return-value]
    box = phrase_map.extra.get("crop_box_f", phrase_map.crop_box)
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def argmax_cell(grid: Sequence[Sequence[float]]) -> tuple[float, float]:
    """(row, col) of the map's maximum, as a fractional cell position: where several patches share
    the maximum (occlusion cells span several patches) it is their centroid."""
    g = torch.as_tensor(grid, dtype=torch.float64)
    if g.numel() == 0 or not torch.isfinite(g).all():
        raise ValueError("the map is empty or has non-finite values")
    rows, cols = torch.nonzero(g == g.max(), as_tuple=True)
    return float(rows.double().mean()), float(cols.double().mean())


def map_argmax_original(phrase_map: PhraseMap, checked=None) -> tuple[float, float]:
    """The centre of the map's strongest patch (or of the strongest cell), as (x, y) in original pixels."""
    row, col = argmax_cell(phrase_map.grid)
    side = len(phrase_map.grid)
    patch = MODEL_SIZE / side
    return crop_to_original(crop_box_f_of(phrase_map, checked), (col + 0.5) * patch, (row + 0.5) * patch)


def pointing_hit(phrase_map: PhraseMap, checked, box: Sequence[float]) -> bool:
    """Pointing game: is the map's argmax (centre, in original pixels) inside the ground-truth box
    (x0, y0, x1, y1), x1/y1 exclusive?"""
    x, y = map_argmax_original(phrase_map, checked)
    x0, y0, x1, y1 = box
    return x0 <= x < x1 and y0 <= y < y1


def cell_box_original(phrase_map: PhraseMap, row: int, col: int, checked=None) -> BoxF:
    """Patch (row, col) of the map as a box in original pixels (for drawing the overlay)."""
    return grid_cell_box(crop_box_f_of(phrase_map, checked), row, col, grid=len(phrase_map.grid))
