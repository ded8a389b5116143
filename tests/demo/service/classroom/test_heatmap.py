"""Handout heatmaps drawn with Pillow (demo/service/classroom/heatmap.py): colours mean what the app's
maps mean, the map sits on the crop box, and what the model never saw is dimmed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from demo.service.classroom import heatmap


def test_colours_follow_the_sign():
    rgba = heatmap.grid_rgba([[1.0, 0.0, -1.0]], opacity=1.0)
    pos, zero, neg = (tuple(int(v) for v in px) for px in rgba[0])
    assert pos[0] > pos[2] and pos[3] > 200  # orange: supports the phrase
    assert neg[2] > neg[0] and neg[3] > 200  # purple: speaks against it
    assert zero[3] == 0  # the middle is transparent


def test_a_map_that_is_never_negative_uses_the_sequential_scale():
    rgba = heatmap.grid_rgba([[0.0, 0.5, 1.0]], opacity=1.0)
    assert rgba[0, 0, 3] == 0 and rgba[0, 2, 3] > rgba[0, 1, 3] > 0
    assert rgba[0, 2, 0] > rgba[0, 2, 2]


def test_opacity_scales_alpha_only():
    full, half = heatmap.grid_rgba([[1.0, -1.0]], 1.0), heatmap.grid_rgba([[1.0, -1.0]], 0.5)
    assert (full[..., :3] == half[..., :3]).all()
    assert abs(int(half[0, 0, 3]) - int(full[0, 0, 3]) / 2) <= 1


def test_non_finite_values_do_not_break_the_drawing():
    rgba = heatmap.grid_rgba([[math.nan, math.inf], [1.0, -1.0]])
    assert rgba.shape == (2, 2, 4)
    for bad in ([], [[]], [1, 2, 3]):
        with pytest.raises(ValueError):
            heatmap.grid_rgba(bad)


def test_the_map_lands_on_the_crop_and_the_margins_are_dimmed():
    image = Image.new("RGB", (600, 300), (200, 200, 200))
    grid = [[0.0] * 24 for _ in range(24)]
    grid[0][0] = 1.0  # strongest support in the crop's top-left patch
    crop = (150, 0, 450, 300)  # the centre square of a wide picture
    out = np.asarray(heatmap.overlay(image, grid, crop, max_side=600)).astype(int)
    assert out.shape == (300, 600, 3)
    top_left_patch = out[3, 152]
    assert top_left_patch[0] > top_left_patch[2] + 40  # orange
    assert (np.abs(out[150, 300] - 200) <= 3).all()  # a neutral cell leaves the picture as it is
    margin = out[150, 20]
    assert (margin < 120).all()  # never seen: dimmed


def test_large_pictures_are_shrunk_and_the_crop_scales_with_them():
    image = Image.new("RGB", (2000, 1000), (255, 255, 255))
    grid = [[-1.0] * 24 for _ in range(24)]
    out = heatmap.overlay(image, grid, (500, 0, 1500, 1000), max_side=500)
    assert out.size == (500, 250)
    px = np.asarray(out).astype(int)
    assert px[125, 250][2] > px[125, 250][0]  # the purple map is inside the scaled crop
    assert (px[125, 30] < 140).all()  # the scaled margin is dimmed


def test_without_a_map_the_picture_is_unchanged():
    image = Image.new("RGB", (50, 40), (10, 120, 30))
    assert np.array_equal(np.asarray(heatmap.overlay(image, None, None)), np.asarray(image))


def test_legend_runs_purple_to_orange():
    bar = np.asarray(heatmap.legend(100, 6)).astype(int)
    assert bar[3, 0][2] > bar[3, 0][0] and bar[3, 99][0] > bar[3, 99][2]
    assert (bar[3, 50] > 240).all()  # the transparent middle shows the paper
