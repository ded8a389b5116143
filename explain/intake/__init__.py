"""Intake: untrusted upload bytes in, a checked RGB picture and the crop the model sees out.

`check_image` detects the format from the bytes, refuses what it cannot judge with an
`ImageRejected` whose message is a sentence for the visitor, and normalises the rest to 8-bit RGB
as a person would see it; the geometry helpers place the model's 336 x 336 centre crop and its
24 x 24 patch grid on the original picture, so maps can be drawn where the model looked.
"""

from .check import PREPROCESSING, available_formats, check_image, load_image_bytes, load_image_file
from .colour import NEUTRAL_GREY
from .geometry import (
    CELL_GRIDS,
    GRID,
    MODEL_SIZE,
    BoxF,
    crop_box_for,
    crop_to_original,
    grid_cell_box,
    model_view,
    original_to_cell,
    original_to_crop,
    resized_size,
)
from .limits import ACCEPTED_FORMATS, REJECT_CODES, CheckedImage, ImageRejected, IntakeLimits

__all__ = [
    "ACCEPTED_FORMATS",
    "CELL_GRIDS",
    "GRID",
    "MODEL_SIZE",
    "NEUTRAL_GREY",
    "PREPROCESSING",
    "REJECT_CODES",
    "BoxF",
    "CheckedImage",
    "ImageRejected",
    "IntakeLimits",
    "available_formats",
    "check_image",
    "crop_box_for",
    "crop_to_original",
    "grid_cell_box",
    "load_image_bytes",
    "load_image_file",
    "model_view",
    "original_to_cell",
    "original_to_crop",
    "resized_size",
]
