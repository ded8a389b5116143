"""Refusals name what a file looks like, in correct English (issue 17, finding 8)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from explain.intake import ImageRejected, check_image


def refusal(data: bytes) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        check_image(data)
    return info.value


@pytest.mark.parametrize("rle, footer", [(False, True), (True, True), (False, False)])
def test_tga_is_an_unsupported_picture_not_a_non_picture(rle, footer):
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buf, "TGA", compression="tga_rle" if rle else None)
    data = buf.getvalue()
    if not footer:  # a version 1 file: no footer, only a header that agrees with the size
        assert data.endswith(b"TRUEVISION-XFILE.\x00")
        data = data[:-26]
    exc = refusal(data)
    assert exc.code == "unsupported_format"
    assert "TGA" in exc.message and "not a picture" not in exc.message


def test_icon_takes_an():
    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, "ICO")
    exc = refusal(buf.getvalue())
    assert exc.code == "unsupported_format"
    assert "an icon (ICO)" in exc.message and "a icon" not in exc.message
