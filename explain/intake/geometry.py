"""Where the model looks: CLIP's shortest-edge resize and centre crop, and the patch grid on it.

`crop_box_for` reproduces transformers' arithmetic exactly (same int() rounding of the long side,
same floor division for the crop offsets) and maps the crop back to original pixels; the helpers
move points and grid cells between the crop and the original picture. Coordinates are continuous
with pixel edges on integers; boxes are (x0, y0, x1, y1) with x1/y1 exclusive.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from .limits import CheckedImage

MODEL_SIZE = 336  # CLIP ViT-L/14-336: shortest edge and centre crop
GRID = 24  # 336 / 14-px patches
CELL_GRIDS = tuple(g for g in range(1, GRID + 1) if GRID % g == 0)  # grids of whole-patch cells: 1, 2, ..., 24

BoxF = tuple[float, float, float, float]


def resized_size(width: int, height: int, size: int = MODEL_SIZE) -> tuple[int, int]:
    """(new_width, new_height) after CLIP's shortest-edge resize, rounded as transformers does
    (`transformers.image_transforms.get_resize_output_image_size`, default_to_square=False)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def crop_box_for(width: int, height: int, size: int = MODEL_SIZE) -> BoxF:
    """The size x size centre crop the model sees, as a float box in original pixel coordinates."""
    new_w, new_h = resized_size(width, height, size)
    left, top = _crop_offsets(new_w, new_h, size)
    sx, sy = width / new_w, height / new_h
    return (left * sx, top * sy, (left + size) * sx, (top + size) * sy)


def _crop_offsets(new_w: int, new_h: int, size: int) -> tuple[int, int]:
    """(left, top) of the centre crop in the resized image, floored as
    transformers.image_transforms.center_crop does: top = (h - crop_h) // 2."""
    return (new_w - size) // 2, (new_h - size) // 2


def cover_box(box: BoxF, width: int, height: int) -> tuple[int, int, int, int]:
    eps = 1e-6  # float noise must not grow the box by a whole pixel
    x0, y0, x1, y1 = box
    return (
        max(0, math.floor(x0 + eps)),
        max(0, math.floor(y0 + eps)),
        min(width, math.ceil(x1 - eps)),
        min(height, math.ceil(y1 - eps)),
    )


def crop_to_original(crop_box_f: BoxF, x: float, y: float, size: int = MODEL_SIZE) -> tuple[float, float]:
    """A point in the model's size x size crop -> the same point in original pixels."""
    x0, y0, x1, y1 = crop_box_f
    return x0 + x * (x1 - x0) / size, y0 + y * (y1 - y0) / size


def original_to_crop(crop_box_f: BoxF, x: float, y: float, size: int = MODEL_SIZE) -> tuple[float, float]:
    """A point in original pixels -> the model's crop (outside [0, size) when the model did not see it)."""
    x0, y0, x1, y1 = crop_box_f
    return (x - x0) * size / (x1 - x0), (y - y0) * size / (y1 - y0)


def grid_cell_box(crop_box_f: BoxF, row: int, col: int, grid: int = GRID) -> BoxF:
    """Grid cell (row, col) of the model's patch grid (row 0 at the top) as a box in original pixels."""
    if not (0 <= row < grid and 0 <= col < grid):
        raise ValueError(f"cell ({row}, {col}) is outside a {grid}x{grid} grid")
    x0, y0, x1, y1 = crop_box_f
    cw, ch = (x1 - x0) / grid, (y1 - y0) / grid
    return (x0 + col * cw, y0 + row * ch, x0 + (col + 1) * cw, y0 + (row + 1) * ch)


def original_to_cell(crop_box_f: BoxF, x: float, y: float, grid: int = GRID) -> tuple[int, int] | None:
    """The (row, col) grid cell holding an original-pixel point, or None when outside the crop."""
    x0, y0, x1, y1 = crop_box_f
    u, v = (x - x0) / (x1 - x0), (y - y0) / (y1 - y0)
    if not (0.0 <= u < 1.0 and 0.0 <= v < 1.0):
        return None
    return min(grid - 1, int(v * grid)), min(grid - 1, int(u * grid))


def model_view(checked: CheckedImage, size: int = MODEL_SIZE) -> Image.Image:
    """The size x size picture the model sees: bicubic shortest-edge resize, then centre crop,
    exactly as CLIPImageProcessor's PIL path does it (for display next to the maps)."""
    img = checked.image
    new_w, new_h = resized_size(img.width, img.height, size)
    resized = img.resize((new_w, new_h), resample=Image.Resampling.BICUBIC)
    left, top = _crop_offsets(new_w, new_h, size)
    return resized.crop((left, top, left + size, top + size))
