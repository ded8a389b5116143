"""Image intake against odd and hostile uploads, and the crop-box maths against transformers.

Every file is built here from Pillow (or by hand, byte by byte, for what Pillow will not write), so
the suite needs no binary fixtures.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explain.intake import (
    GRID,
    MODEL_SIZE,
    NEUTRAL_GREY,
    REJECT_CODES,
    CheckedImage,
    ImageRejected,
    IntakeLimits,
    available_formats,
    check_image,
    crop_box_for,
    crop_to_original,
    grid_cell_box,
    load_image_file,
    model_view,
    original_to_cell,
    original_to_crop,
    resized_size,
)

# The repo's copy of FakeVLM's preprocessor config (tests/factories/test_checkpoints.py checks it
# against shared/reference).
REFERENCE = Path(__file__).resolve().parents[3] / "assets" / "reference" / "preprocessor_config.json"

GREY = NEUTRAL_GREY
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<rect width="100" height="100" fill="red"/></svg>'
)


# --------------------------------------------------------------------------- builders


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def solid(size: tuple[int, int], colour: tuple[int, ...] = (200, 30, 60), mode: str = "RGB"):
    return Image.new(mode, size, colour)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    """A PNG with whatever IHDR we like: for bombs and for 16-bit colour Pillow will not write."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def rgb16_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    row = b"\x00" + struct.pack(">HHH", *rgb) * width  # filter byte 0, then big-endian samples
    return raw_png(width, height, 16, 2, zlib.compress(row * height))


def frames(colours: list[tuple[int, int, int]], size=(64, 48)) -> list[Image.Image]:
    return [solid(size, c) for c in colours]


def hidden_colour_rgba(size=(80, 60)) -> Image.Image:
    """Left half: pure red at alpha 0 (a colour the viewer never sees); right half opaque blue."""
    a = np.zeros((size[1], size[0], 4), np.uint8)
    a[:, : size[0] // 2] = (255, 0, 0, 0)
    a[:, size[0] // 2 :] = (0, 0, 255, 255)
    return Image.fromarray(a, "RGBA")


def exif_orientation_jpeg(orientation: int, size=(120, 60)) -> bytes:
    """Stored landscape; a white block marks the stored top-left corner."""
    img = solid(size, (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(img, "JPEG", quality=95, exif=exif.tobytes())


def reject(data: bytes, limits: IntakeLimits | None = None) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        check_image(data, limits or IntakeLimits())
    exc = info.value
    assert exc.code in REJECT_CODES
    assert str(exc) == exc.message and exc.message.endswith(".")
    assert "Traceback" not in exc.message and "Error" not in exc.message
    return exc


def px(checked: CheckedImage, x: int, y: int) -> tuple[int, int, int]:
    return checked.image.getpixel((x, y))


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))


# --------------------------------------------------------------------------- refusals


def test_empty_file() -> None:
    assert reject(b"").code == "empty"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"Hello, this is just a note.\nNothing to see here.\n", "plain text"),
        (b"<!DOCTYPE html><html><body><img src=x></body></html>", "web page"),
        (SVG, "SVG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (bytes(range(256)) * 8, "format we do not recognise"),
    ],
    ids=["text", "html", "svg", "pdf", "binary"],
)
def test_not_an_image(data: bytes, words: str) -> None:
    exc = reject(data)
    assert exc.code == "not_an_image"
    assert words in exc.message


def test_known_but_unsupported_picture_format() -> None:
    psd = b"8BPS\x00\x01" + bytes(200)
    exc = reject(psd)
    assert exc.code == "unsupported_format" and "PSD" in exc.message


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated(fmt: str) -> None:
    noisy = Image.fromarray(np.random.default_rng(1).integers(0, 255, (200, 300, 3), np.uint8))
    data = encode(noisy, fmt)
    assert check_image(data).format == fmt  # the whole file is fine
    assert reject(data[: len(data) // 2]).code == "truncated"


def test_header_only_is_truncated() -> None:
    data = encode(solid((100, 100)), "PNG")
    assert reject(data[:20]).code == "truncated"


def test_png_signature_then_garbage_is_corrupt() -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(random.Random(3).randrange(256) for _ in range(500))
    assert reject(data).code == "corrupt"


def test_png_with_broken_pixel_data_is_refused() -> None:
    # A valid header, IDAT that is not a zlib stream.
    data = raw_png(64, 64, 8, 2, b"\x78\x9c" + b"\xff" * 300)
    assert reject(data).code in ("corrupt", "truncated")


def test_png_bomb_header_refused_before_decoding() -> None:
    # 100000 x 100000 claimed by a 60-byte file. The IDAT is not even valid: a decode would
    # say "corrupt", so "too_many_pixels" proves the refusal came from the header alone.
    data = raw_png(100_000, 100_000, 8, 0, b"not zlib")
    assert reject(data).code == "too_many_pixels"


def test_pixel_cap_is_ours_below_pillows() -> None:
    # 2000 x 2000 zeros compress to a few KB; our configured cap refuses it from the header.
    data = raw_png(2000, 2000, 8, 0, b"junk")
    limits = IntakeLimits(max_pixels=1_000_000)
    exc = reject(data, limits)
    assert exc.code == "too_many_pixels"
    assert "2000×2000" in exc.message and "1 megapixels" in exc.message


def test_pillow_bomb_error_and_warning_become_ours() -> None:
    generous = IntakeLimits(max_pixels=10**12)
    # Past twice Pillow's MAX_IMAGE_PIXELS Pillow raises DecompressionBombError itself.
    over_error = 2 * Image.MAX_IMAGE_PIXELS + 10
    side = int(over_error**0.5) + 1
    assert reject(raw_png(side, side, 8, 0, b"x"), generous).code == "too_many_pixels"
    # Between 1x and 2x Pillow only warns; where warnings are errors it must still be our refusal.
    side = int((1.5 * Image.MAX_IMAGE_PIXELS) ** 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reject(raw_png(side, side, 8, 0, b"x"), generous).code == "too_many_pixels"


def test_gif_with_huge_logical_screen_and_tiny_frame() -> None:
    gif = bytearray(encode(solid((10, 10), 0, "P"), "GIF"))
    gif[6:10] = struct.pack("<HH", 65535, 65535)  # logical screen width, height
    assert reject(bytes(gif)).code == "too_many_pixels"
    # A modest screen with a tiny frame is a legitimate (if odd) picture.
    gif[6:10] = struct.pack("<HH", 400, 300)
    checked = check_image(bytes(gif))
    assert (checked.width, checked.height) == (400, 300)


def test_over_max_bytes() -> None:
    data = encode(solid((64, 64)), "PNG")
    exc = reject(data, IntakeLimits(max_bytes=len(data) - 1))
    assert exc.code == "too_large"
    assert check_image(data, IntakeLimits(max_bytes=len(data))).byte_size == len(data)


def test_load_image_file_refuses_huge_file_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "huge.jpg"
    with big.open("wb") as fh:
        fh.truncate(10 * 1024**3)  # sparse 10 GiB: reading it would take seconds and all memory
    with pytest.raises(ImageRejected) as info:
        load_image_file(big)
    assert info.value.code == "too_large"


def test_load_image_file_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ImageRejected) as info:
        load_image_file(tmp_path)  # a directory
    assert info.value.code == "unreadable"
    with pytest.raises(ImageRejected) as info:
        load_image_file(tmp_path / "missing.png")
    assert info.value.code == "unreadable"


def test_tiny_image() -> None:
    exc = reject(encode(solid((8, 8)), "PNG"))
    assert exc.code == "too_small" and "8×8" in exc.message


def test_extreme_aspect_ratio() -> None:
    exc = reject(encode(solid((2000, 40)), "PNG"))
    assert exc.code == "aspect_ratio" and "50:1" in exc.message
    # 2000 x 20 is both; with a lower minimum side it is refused for its shape.
    assert reject(encode(solid((2000, 20)), "PNG")).code == "too_small"
    assert reject(encode(solid((20, 2000)), "PNG"), IntakeLimits(min_side=16)).code == "aspect_ratio"
    # 10:1 exactly is allowed by default; a tighter limit refuses it.
    assert check_image(encode(solid((400, 40)), "PNG")).width == 400
    assert reject(encode(solid((400, 40)), "PNG"), IntakeLimits(max_aspect=4)).code == "aspect_ratio"


# --------------------------------------------------------------------------- honest normalisation


def test_hidden_colour_under_alpha_is_composited_not_revealed() -> None:
    checked = check_image(encode(hidden_colour_rgba(), "PNG"))
    assert checked.image.mode == "RGB"
    assert px(checked, 5, 5) == GREY  # not the hidden red
    assert px(checked, 75, 5) == (0, 0, 255)
    assert "transparency composited on grey" in checked.notes


def test_palette_png_with_transparency() -> None:
    img = Image.new("P", (64, 64), 0)
    img.putpalette([255, 0, 0] + [0, 255, 0] + [0, 0, 0] * 254)
    img.paste(1, (32, 0, 64, 64))
    checked = check_image(encode(img, "PNG", transparency=0))
    assert px(checked, 5, 5) == GREY
    assert px(checked, 40, 5) == (0, 255, 0)
    assert "transparency composited on grey" in checked.notes


def test_rgb_png_with_colour_key_transparency() -> None:
    img = solid((64, 64), (0, 255, 0))
    img.paste((10, 20, 30), (0, 0, 32, 64))
    checked = check_image(encode(img, "PNG", transparency=(0, 255, 0)))
    assert px(checked, 40, 5) == GREY
    assert px(checked, 5, 5) == (10, 20, 30)


def test_la_image() -> None:
    a = np.zeros((48, 64, 2), np.uint8)
    a[:, :32] = (255, 0)  # white, invisible
    a[:, 32:] = (40, 255)
    checked = check_image(encode(Image.fromarray(a, "LA"), "PNG"))
    assert px(checked, 5, 5) == GREY
    assert px(checked, 40, 5) == (40, 40, 40)
    assert "transparency composited on grey" in checked.notes


def test_opaque_alpha_adds_no_note() -> None:
    checked = check_image(encode(solid((64, 64), (1, 2, 3, 255), "RGBA"), "PNG"))
    assert px(checked, 0, 0) == (1, 2, 3)
    assert not any("transparency" in n for n in checked.notes)


def test_cmyk_jpeg() -> None:
    checked = check_image(encode(solid((64, 64), (0, 255, 255, 0), "CMYK"), "JPEG", quality=95))
    assert checked.format == "JPEG"
    assert close(px(checked, 30, 30), (255, 0, 0), 8)
    assert any(n.startswith("CMYK colours converted") for n in checked.notes)


def test_lab_tiff_is_colour_managed() -> None:
    lab = Image.new("LAB", (64, 64), (128, 148, 108))  # L 50%, a +20, b -20: a muted purple
    checked = check_image(encode(lab, "TIFF"))
    assert close(px(checked, 5, 5), (140, 108, 154), 4)
    assert "CIELAB colours converted to sRGB" in checked.notes


def test_16_bit_grey_png() -> None:
    a = np.full((48, 64), 0xAB12, np.uint16)
    a[:, 32:] = 0x0180
    img = Image.fromarray(a)
    assert img.mode == "I;16"
    checked = check_image(encode(img, "PNG"))
    assert px(checked, 5, 5) == (0xAB, 0xAB, 0xAB)
    assert px(checked, 40, 5) == (0x01, 0x01, 0x01)
    assert "16-bit image reduced to 8 bits" in checked.notes


def test_16_bit_colour_png() -> None:
    checked = check_image(rgb16_png(64, 48, (0xAB12, 0x00FF, 0xFF00)))
    assert px(checked, 10, 10) == (0xAB, 0x00, 0xFF)
    assert "16-bit image reduced to 8 bits" in checked.notes


def test_float_tiff_outside_unit_range_is_stretched() -> None:
    a = np.tile(np.linspace(-3.0, 5.0, 64, dtype=np.float32), (48, 1))
    checked = check_image(encode(Image.fromarray(a, "F"), "TIFF"))
    assert checked.format == "TIFF"
    assert px(checked, 0, 0) == (0, 0, 0) and px(checked, 63, 0) == (255, 255, 255)
    assert any("stretched to 8 bits" in n for n in checked.notes)


def test_float_tiff_in_unit_range_is_scaled_and_nan_is_black() -> None:
    a = np.full((48, 64), 0.5, np.float32)
    a[0, 0] = np.nan
    checked = check_image(encode(Image.fromarray(a, "F"), "TIFF"))
    assert px(checked, 10, 10) == (128, 128, 128)
    assert px(checked, 0, 0) == (0, 0, 0)
    assert any("values 0..1" in n for n in checked.notes)
    assert any("NaN" in n for n in checked.notes)


def test_32_bit_integer_tiff_is_stretched() -> None:
    a = np.tile(np.linspace(0, 1_000_000, 64).astype(np.int32), (48, 1))
    checked = check_image(encode(Image.fromarray(a, "I"), "TIFF"))
    assert px(checked, 0, 0) == (0, 0, 0) and px(checked, 63, 0) == (255, 255, 255)
    assert any("32-bit integer image" in n for n in checked.notes)


def test_animated_gif_first_frame() -> None:
    f = frames([(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    data = encode(f[0], "GIF", save_all=True, append_images=f[1:], duration=100, loop=0)
    checked = check_image(data)
    assert checked.format == "GIF"
    assert px(checked, 10, 10) == (255, 0, 0)
    assert "animated GIF: first of 3 frames used" in checked.notes


def test_animated_webp_first_frame() -> None:
    f = frames([(0, 0, 255), (255, 255, 0)])
    data = encode(f[0], "WEBP", save_all=True, append_images=f[1:], duration=100, lossless=True)
    checked = check_image(data)
    assert checked.format == "WEBP"
    assert px(checked, 10, 10) == (0, 0, 255)
    assert "animated WebP: first of 2 frames used" in checked.notes


def test_animated_png_first_frame() -> None:
    f = frames([(9, 99, 199), (200, 0, 0), (0, 200, 0), (0, 0, 200)])
    checked = check_image(encode(f[0], "PNG", save_all=True, append_images=f[1:]))
    assert px(checked, 10, 10) == (9, 99, 199)
    assert "animated PNG (APNG): first of 4 frames used" in checked.notes


def test_multipage_tiff_first_page() -> None:
    f = frames([(1, 2, 3), (4, 5, 6), (7, 8, 9)])
    checked = check_image(encode(f[0], "TIFF", save_all=True, append_images=f[1:]))
    assert px(checked, 10, 10) == (1, 2, 3)
    assert "multi-page TIFF: first of 3 pages used" in checked.notes


@pytest.mark.parametrize(
    ("orientation", "words", "marker_corner"),
    [
        (6, "rotated 90° clockwise", "top_right"),
        (8, "rotated 90° counter-clockwise", "bottom_left"),
        (3, "rotated 180°", "bottom_right"),
    ],
)
def test_exif_orientation(orientation: int, words: str, marker_corner: str) -> None:
    checked = check_image(exif_orientation_jpeg(orientation))
    rotated = orientation in (6, 8)
    assert (checked.width, checked.height) == ((60, 120) if rotated else (120, 60))
    assert checked.image.size == (checked.width, checked.height)
    assert f"EXIF orientation applied ({words})" in checked.notes
    w, h = checked.width, checked.height
    corners = {
        "top_right": (w - 5, 5),
        "bottom_left": (5, h - 5),
        "bottom_right": (w - 5, h - 5),
    }
    assert px(checked, *corners[marker_corner])[0] > 200  # the stored top-left marker moved here
    assert px(checked, 5, 5)[0] < 50
    assert checked.crop_box_f == crop_box_for(w, h)  # crop box in displayed coordinates
    assert checked.crop_box == ((0, 30, 60, 90) if rotated else (30, 0, 90, 60))


def test_heic() -> None:
    if "HEIF" not in available_formats():
        pytest.skip("pillow-heif is not installed: HEIC uploads are refused as unknown")
    data = encode(solid((96, 64), (30, 160, 220)), "HEIF", quality=90)
    checked = check_image(data)
    assert checked.format == "HEIF"
    assert (checked.width, checked.height) == (96, 64)
    assert close(px(checked, 48, 32), (30, 160, 220), 12)


def test_avif() -> None:
    if "AVIF" not in available_formats():
        pytest.skip("neither Pillow nor pillow-avif-plugin provide AVIF here")
    checked = check_image(encode(solid((96, 64), (220, 160, 30)), "AVIF", quality=90))
    assert checked.format == "AVIF"
    assert close(px(checked, 48, 32), (220, 160, 30), 12)


def test_bmp_and_grey_and_bilevel_plain() -> None:
    checked = check_image(encode(solid((64, 40), (7, 8, 9)), "BMP"))
    assert checked.format == "BMP" and px(checked, 3, 3) == (7, 8, 9)
    grey = check_image(encode(solid((64, 40), 77, "L"), "PNG"))
    assert px(grey, 3, 3) == (77, 77, 77)
    bilevel = check_image(encode(solid((64, 40), 1, "1"), "PNG"))
    assert px(bilevel, 3, 3) == (255, 255, 255)
    assert not any("transparency" in n or "bits" in n for n in grey.notes + bilevel.notes)


def test_multi_picture_jpeg_reports_jpeg() -> None:
    f = frames([(250, 250, 250), (0, 0, 0)])
    checked = check_image(encode(f[0], "MPO", save_all=True, append_images=f[1:]))
    assert checked.format == "JPEG"
    assert close(px(checked, 10, 10), (250, 250, 250), 3)
    assert "multi-picture JPEG: first of 2 pictures used" in checked.notes


def test_accepts_any_bytes_like_and_refuses_other_types() -> None:
    data = encode(solid((64, 64)), "PNG")
    assert check_image(bytearray(data)).sha256 == check_image(memoryview(data)).sha256
    with pytest.raises(TypeError):
        check_image("not bytes")  # type: ignore[arg-type]  (a programming error, not an upload)


def test_format_comes_from_bytes_not_name(tmp_path: Path) -> None:
    path = tmp_path / "holiday.png"
    data = encode(solid((64, 64)), "JPEG")
    path.write_bytes(data)
    checked = load_image_file(path)
    assert checked.format == "JPEG"
    assert checked.sha256 == hashlib.sha256(data).hexdigest()


def test_trailing_data_after_png_is_accepted_and_noted() -> None:
    # A PNG/HTML polyglot: we decode only the picture and say something rode along.
    payload = b"<html><script>alert(1)</script></html>"
    data = encode(solid((64, 64), (5, 6, 7)), "PNG") + payload
    checked = check_image(data)
    assert px(checked, 1, 1) == (5, 6, 7)
    assert f"{len(payload)} bytes of extra data after the end of the PNG were ignored" in checked.notes
    assert checked.sha256 == hashlib.sha256(data).hexdigest()  # of the bytes as uploaded


def test_small_image_enlarged_note_and_metadata() -> None:
    data = encode(solid((200, 100)), "PNG")
    checked = check_image(data)
    assert checked.sha256 == hashlib.sha256(data).hexdigest()
    assert checked.byte_size == len(data)
    assert (checked.format, checked.width, checked.height) == ("PNG", 200, 100)
    assert any("enlarged" in n for n in checked.notes)
    big = check_image(encode(solid((400, 400)), "PNG"))
    assert big.notes == ()


def test_limits_from_env() -> None:
    limits = IntakeLimits.from_env({"SPOT_MAX_UPLOAD_MB": "2.5", "SPOT_MAX_PIXELS": "4e6"})
    assert limits.max_bytes == int(2.5 * 1024 * 1024) and limits.max_pixels == 4_000_000
    assert IntakeLimits.from_env({}) == IntakeLimits()
    with pytest.raises(ValueError, match="SPOT_MAX_PIXELS"):
        IntakeLimits.from_env({"SPOT_MAX_PIXELS": "lots"})
    with pytest.raises(ValueError, match="SPOT_MAX_UPLOAD_MB"):
        IntakeLimits.from_env({"SPOT_MAX_UPLOAD_MB": "-1"})


# --------------------------------------------------------------------------- never anything but ImageRejected


def _seed_files() -> list[bytes]:
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 255, (40, 48, 3), np.uint8))
    f = frames([(255, 0, 0), (0, 255, 0)], size=(40, 40))
    files = [
        encode(noisy, "PNG"),
        encode(noisy, "JPEG"),
        encode(noisy.convert("P"), "GIF"),
        encode(noisy, "WEBP"),
        encode(noisy, "BMP"),
        encode(noisy, "TIFF"),
        encode(noisy, "TIFF", compression="tiff_lzw"),
        encode(f[0], "GIF", save_all=True, append_images=f[1:]),
        encode(f[0], "WEBP", save_all=True, append_images=f[1:]),
        encode(hidden_colour_rgba((40, 40)), "PNG"),
        encode(f[0], "PNG", save_all=True, append_images=f[1:]),
        encode(f[0], "TIFF", save_all=True, append_images=f[1:]),
        encode(solid((40, 40), (0, 255, 255, 0), "CMYK"), "JPEG"),
        encode(noisy.convert("P"), "PNG", transparency=3),
        encode(Image.fromarray(np.full((40, 40), 0x1234, np.uint16)), "PNG"),
        encode(Image.fromarray(rng.random((40, 40), np.float32), "F"), "TIFF"),
        rgb16_png(40, 40, (1, 2, 3)),
        exif_orientation_jpeg(6),
    ]
    for fmt in ("HEIF", "AVIF"):
        if fmt in available_formats():
            files.append(encode(noisy, fmt))
    return files


def _mutants(seeds: list[bytes], n: int) -> list[bytes]:
    rnd = random.Random(1234)
    out = []
    for i in range(n):
        data = bytearray(seeds[i % len(seeds)])
        kind = rnd.randrange(5)
        if kind == 0:  # flip a few bytes, mostly in the header where parsers branch
            for _ in range(rnd.randint(1, 8)):
                pos = rnd.randrange(min(len(data), 128 if rnd.random() < 0.7 else len(data)))
                data[pos] = rnd.randrange(256)
        elif kind == 1:  # truncate
            del data[rnd.randrange(1, len(data)) :]
        elif kind == 2:  # splice in random bytes
            pos = rnd.randrange(len(data))
            data[pos:pos] = rnd.randbytes(rnd.randint(1, 64))
        elif kind == 3:  # overwrite a whole run
            pos = rnd.randrange(len(data))
            data[pos : pos + 32] = rnd.randbytes(32)
        else:  # a real signature followed by noise
            data = data[: rnd.randint(2, 16)] + rnd.randbytes(rnd.randint(0, 400))
        out.append(bytes(data))
    return out


@pytest.mark.timeout(120)
@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the corrupt EXIF we made
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # refused by our cap
def test_mutated_bytes_only_ever_raise_image_rejected() -> None:
    seeds = _seed_files()
    for data in seeds:
        check_image(data)  # every seed is valid, so mutants start from real parsers' paths
    outcomes: dict[str, int] = {}
    for data in _mutants(seeds, 1000):
        try:
            checked = check_image(data)
        except ImageRejected as exc:
            assert exc.code in REJECT_CODES and exc.message
            outcomes[exc.code] = outcomes.get(exc.code, 0) + 1
        else:
            assert checked.image.mode == "RGB" and checked.image.size == (
                checked.width,
                checked.height,
            )
            outcomes["accepted"] = outcomes.get("accepted", 0) + 1
    # The mutations must actually exercise both sides.
    assert outcomes.get("accepted", 0) > 100
    assert sum(v for k, v in outcomes.items() if k != "accepted") > 300


# --------------------------------------------------------------------------- where the model looks


@pytest.fixture(scope="module")
def clip_processor():
    # The PIL path on purpose (see DESIGN.md): FakeVLM was trained on PIL resampling.
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    config = json.loads(REFERENCE.read_text())
    assert config["image_processor_type"] == "CLIPImageProcessor"
    config.pop("image_processor_type")
    processor = CLIPImageProcessorPil(**config)
    assert processor.backend == "pil"
    return processor, np.array(config["image_mean"]), np.array(config["image_std"])


def seen_by_clip(clip_processor, img: Image.Image) -> np.ndarray:
    """The processor's pixels back in 0..255 (H, W, 3), undoing rescale and normalisation."""
    processor, mean, std = clip_processor
    pixels = processor(img, return_tensors="np")["pixel_values"][0]  # (3, 336, 336)
    return (pixels * std[:, None, None] + mean[:, None, None]).transpose(1, 2, 0) * 255.0


SIZES = [
    (500, 300),
    (337, 1000),
    (1000, 337),
    (301, 777),
    (641, 480),
    (120, 200),
    (335, 333),
]


def test_crop_box_matches_transformers_resize_arithmetic() -> None:
    from transformers.image_transforms import get_resize_output_image_size
    from transformers.image_utils import ChannelDimension

    rnd = random.Random(7)
    sizes = SIZES + [(rnd.randint(32, 9000), rnd.randint(32, 9000)) for _ in range(2000)]
    sizes += [(w, h) for w in range(330, 343) for h in range(330, 1400, 7)]
    for w, h in sizes:
        shape_only = np.broadcast_to(np.uint8(0), (3, h, w))
        new_h, new_w = get_resize_output_image_size(
            shape_only,
            MODEL_SIZE,
            default_to_square=False,
            input_data_format=ChannelDimension.FIRST,
        )
        assert resized_size(w, h) == (new_w, new_h), (w, h)
        x0, y0, x1, y1 = crop_box_for(w, h)
        assert 0 <= x0 < x1 <= w + 1e-9 and 0 <= y0 < y1 <= h + 1e-9
        assert x1 - x0 == pytest.approx(MODEL_SIZE * w / new_w)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_model_view_is_what_clip_processor_sees(clip_processor, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(size[0] * 7919 + size[1])
    img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), np.uint8))
    checked = check_image(encode(img, "PNG"))
    ours = np.asarray(model_view(checked), np.float64)
    theirs = seen_by_clip(clip_processor, checked.image)
    assert ours.shape == theirs.shape == (MODEL_SIZE, MODEL_SIZE, 3)
    assert np.abs(ours - theirs).max() < 0.01  # identical uint8 pixels, up to float round-off


def _marker_centroid(seen: np.ndarray, cx: float, cy: float, background: float) -> tuple[float, float]:
    x0, y0 = max(0, int(cx) - 12), max(0, int(cy) - 12)
    window = seen[y0 : int(cy) + 13, x0 : int(cx) + 13, 0] - background
    ys, xs = np.mgrid[y0 : y0 + window.shape[0], x0 : x0 + window.shape[1]]
    total = window.sum()
    assert total > 100, "marker not visible where the mapping says it is"
    # +0.5: pixel i's centre sits at i + 0.5 in continuous coordinates
    return float((xs * window).sum() / total) + 0.5, float((ys * window).sum() / total) + 0.5


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_markers_land_where_the_mapping_says(clip_processor, size: tuple[int, int]) -> None:
    w, h = size
    box = crop_box_for(w, h)
    scale = (box[2] - box[0]) / MODEL_SIZE  # original pixels per crop pixel
    a = np.full((h, w, 3), 100, np.uint8)
    # Markers just inside each edge of the crop, and one at its centre; 3 x 3 original pixels.
    targets = [
        (30.0, 168.0),
        (306.0, 168.0),
        (168.0, 30.0),
        (168.0, 306.0),
        (168.0, 168.0),
    ]
    centres = []
    for tx, ty in targets:
        ox, oy = crop_to_original(box, tx, ty)
        left, top = int(ox) - 1, int(oy) - 1
        a[top : top + 3, left : left + 3] = 220
        centres.append((left + 1.5, top + 1.5))
    # A marker just outside the crop's left edge must not show at all.
    outside_x = int(box[0]) - int(4 * scale) - 3
    if outside_x >= 0:
        a[int(h / 2) - 1 : int(h / 2) + 2, outside_x : outside_x + 3] = 220
    seen = seen_by_clip(clip_processor, check_image(encode(Image.fromarray(a), "PNG")).image)
    for ox, oy in centres:
        ex, ey = original_to_crop(box, ox, oy)
        gx, gy = _marker_centroid(seen, ex, ey, 100.0)
        assert abs(gx - ex) < 0.3 and abs(gy - ey) < 0.3, (size, (ex, ey), (gx, gy))
    if outside_x >= 0:
        assert np.abs(seen[:, :2, 0] - 100).max() < 2


def test_int_crop_box_covers_float_box() -> None:
    for w, h in SIZES + [(336, 336), (4000, 3000), (3000, 4000), (32, 320)]:
        checked_box = crop_box_for(w, h)
        data = encode(solid((w, h)), "PNG")
        checked = check_image(data)
        x0, y0, x1, y1 = checked.crop_box
        fx0, fy0, fx1, fy1 = checked.crop_box_f
        assert checked.crop_box_f == checked_box
        assert x0 <= fx0 and y0 <= fy0 and x1 >= fx1 - 1e-6 and y1 >= fy1 - 1e-6
        assert x1 - fx1 < 1 and fx0 - x0 < 1 and 0 <= x0 and 0 <= y0 and x1 <= w and y1 <= h
    assert crop_box_for(336, 336) == (0.0, 0.0, 336.0, 336.0)
    assert crop_box_for(1000, 500) == (250.0, 0.0, 750.0, 500.0)


def test_point_and_grid_mappings() -> None:
    box = crop_box_for(1000, 337)
    for x, y in [(0.0, 0.0), (336.0, 336.0), (12.3, 300.7), (168.0, 0.5)]:
        X, Y = crop_to_original(box, x, y)
        assert original_to_crop(box, X, Y) == pytest.approx((x, y))
    assert crop_to_original(box, 0, 0) == pytest.approx(box[:2])
    assert crop_to_original(box, MODEL_SIZE, MODEL_SIZE) == pytest.approx(box[2:])
    # The 24 x 24 cells tile the crop box exactly, row-major from the top-left.
    assert grid_cell_box(box, 0, 0)[:2] == pytest.approx(box[:2])
    assert grid_cell_box(box, GRID - 1, GRID - 1)[2:] == pytest.approx(box[2:])
    r, c = 5, 17
    cell = grid_cell_box(box, r, c)
    assert cell[:2] == pytest.approx(crop_to_original(box, c * 14, r * 14))
    assert cell[2:] == pytest.approx(crop_to_original(box, (c + 1) * 14, (r + 1) * 14))
    assert grid_cell_box(box, r, c + 1)[0] == pytest.approx(cell[2])
    centre = ((cell[0] + cell[2]) / 2, (cell[1] + cell[3]) / 2)
    assert original_to_cell(box, *centre) == (r, c)
    assert original_to_cell(box, box[0] - 1, 100) is None  # cut off on the left
    with pytest.raises(ValueError):
        grid_cell_box(box, GRID, 0)
