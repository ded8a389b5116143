"""Re-encoding traces: JPEG quality from quantization tables, re-saving, resizing, screenshots,
editors, and files stripped of metadata."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from explain.provenance import read_provenance
from explain.provenance.container import read_container
from explain.provenance.quantization import IJG_CHROMA, IJG_LUMA, estimate_quality, ijg_table
from tests.factories import provenance_samples as s


def checks(data: bytes) -> dict[str, object]:
    return {f.details.get("check"): f for f in read_provenance(data).of_kind("reencoding")}


@pytest.mark.parametrize("quality", [50, 75, 90, 95])
def test_quality_estimate_from_pillow_jpegs(quality):
    f = checks(s.jpeg_bytes((128, 96), quality=quality))["jpeg_quality"]
    assert abs(f.details["quality"] - quality) <= 3
    assert f.details["standard_tables"] is True


@pytest.mark.parametrize(("quality", "strength", "points_to"), [(95, "info", "none"), (80, "weak", "processed"),
                                                             (40, "moderate", "processed")])  # fmt: skip
def test_lower_quality_means_weaker_pixel_evidence(quality, strength, points_to):
    f = checks(s.jpeg_bytes(quality=quality))["jpeg_quality"]
    assert (f.strength, f.points_to) == (strength, points_to)


def test_tables_read_by_hand_match_pillows():
    data = s.jpeg_bytes(quality=83)
    mine = read_container(data).jpeg.quant_tables
    pillow = Image.open(io.BytesIO(data)).quantization
    assert {k: tuple(v) for k, v in pillow.items()} == mine


def test_ijg_scaling_matches_libjpeg_at_the_anchors():
    assert ijg_table(IJG_LUMA, 50) == IJG_LUMA
    assert set(ijg_table(IJG_LUMA, 100)) == {1}
    assert max(ijg_table(IJG_CHROMA, 1)) == 255  # baseline tables are clamped to 8 bits


def test_custom_tables_are_not_standard_but_get_a_quality():
    # A table shaped unlike IJG's (flat-ish, as some cameras use), close to quality ~90 in size.
    flat = [3 + (i % 8) // 2 for i in range(64)]
    data = s.jpeg_bytes(qtables=[flat, flat])
    found = checks(data)
    assert found["jpeg_quality"].details["standard_tables"] is False
    assert found["custom_tables"].points_to == "processed"  # no camera EXIF: some software's own
    est = estimate_quality(read_container(data).jpeg.quant_tables)
    assert est is not None and not est.standard and 80 <= est.quality <= 97


def test_custom_tables_with_camera_exif_are_what_cameras_do():
    flat = [2 + (i % 8) // 3 for i in range(64)]
    f = checks(s.jpeg_bytes(qtables=[flat, flat], exif=s.camera_exif()))["custom_tables"]
    assert (f.strength, f.points_to) == ("info", "none")


def test_camera_exif_with_standard_tables_suggests_resaving():
    f = checks(s.jpeg_bytes(quality=92, exif=s.camera_exif()))["standard_tables_with_camera_exif"]
    assert (f.strength, f.points_to) == ("weak", "processed")


def test_progressive_camera_jpeg():
    found = checks(s.jpeg_bytes(exif=s.camera_exif(), progressive=True))
    assert "progressive_with_camera_exif" in found
    assert "progressive_with_camera_exif" not in checks(s.jpeg_bytes(exif=s.camera_exif()))


def test_resized_since_capture():
    f = checks(s.jpeg_bytes((120, 90), exif=s.camera_exif(pixel_size=(4000, 3000))))["resized_after_capture"]
    assert f.details == {"check": "resized_after_capture", "exif_size": [4000, 3000], "file_size": [120, 90]}
    assert f.strength == "moderate"
    # same size, or the same size rotated: nothing to say
    assert "resized_after_capture" not in checks(s.jpeg_bytes((120, 90), exif=s.camera_exif(pixel_size=(120, 90))))
    assert "resized_after_capture" not in checks(s.jpeg_bytes((120, 90), exif=s.camera_exif(pixel_size=(90, 120))))


@pytest.mark.parametrize("size", [(1920, 1080), (1170, 2532)])
def test_screen_sized_png_looks_like_a_screenshot(size):
    f = checks(s.png_bytes(size))["screenshot_like_size"]
    assert (f.strength, f.points_to) == ("weak", "processed")
    assert f.details["size"] == list(size)


def test_ordinary_sizes_and_camera_files_are_not_screenshots():
    assert "screenshot_like_size" not in checks(s.png_bytes((1024, 1024)))
    assert "screenshot_like_size" not in checks(s.jpeg_bytes((1920, 1080), exif=s.camera_exif()))


def test_macos_screenshot_comment():
    exif = s.software_exif("", user_comment=b"ASCII\x00\x00\x00Screenshot")
    f = checks(s.png_bytes(exif=exif))["screenshot"]
    assert f.strength == "moderate"


def test_editor_named_in_software_fields():
    prov = read_provenance(s.jpeg_bytes(exif=s.camera_exif(software="Adobe Photoshop 25.1 (Windows)")))
    (f,) = prov.of_kind("editing_software")
    assert (f.strength, f.points_to) == ("weak", "processed")
    assert f.details["editors"] == ["Adobe Photoshop"]
    assert f.details["where"] == ["EXIF Software"]


def test_xmp_history_names_editors():
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
        b'xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"><xmpMM:History><rdf:Seq>'
        b'<rdf:li rdf:parseType="Resource"><stEvt:action>saved</stEvt:action>'
        b"<stEvt:softwareAgent>Adobe Lightroom Classic 13.0</stEvt:softwareAgent></rdf:li>"
        b'<rdf:li stEvt:action="saved" stEvt:softwareAgent="GIMP 2.10"/>'
        b"</rdf:Seq></xmpMM:History></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    (f,) = read_provenance(s.jpeg_bytes(xmp=xmp)).of_kind("editing_software")
    assert f.details["editors"] == ["Adobe Lightroom", "GIMP"]


def strip_app_segments(jpeg: bytes) -> bytes:
    """Drop every APPn segment, keeping the compressed image exactly as it was."""
    out, pos = bytearray(jpeg[:2]), 2
    while True:
        marker = jpeg[pos + 1]
        length = struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
        if marker == 0xDA:
            return bytes(out + jpeg[pos:])
        if not 0xE0 <= marker <= 0xEF:
            out += jpeg[pos : pos + 2 + length]
        pos += 2 + length


def test_stripped_files_say_no_metadata_and_nothing_more():
    camera = s.jpeg_bytes(exif=s.camera_exif(), xmp=s.xmp_packet({"tiff:Make": "Canon"}))
    stripped = strip_app_segments(camera)
    assert b"Canon" not in stripped
    prov = read_provenance(stripped)
    (f,) = prov.of_kind("no_metadata")
    assert (f.strength, f.points_to) == ("info", "none")
    assert "proves nothing" in f.meaning
    assert prov.of_kind("camera") == ()
    # the same image with its metadata has no such finding
    assert read_provenance(camera).of_kind("no_metadata") == ()


def test_resaved_without_metadata_png_and_webp():
    for data in (s.png_bytes(), s.webp_bytes()):
        (f,) = read_provenance(data).of_kind("no_metadata")
        assert f.details["file_format"] in ("png", "webp")


def test_a_colour_profile_alone_is_still_no_metadata():
    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, "PNG", icc_profile=b"\x00" * 128)
    (f,) = read_provenance(buf.getvalue()).of_kind("no_metadata")
    assert f.details["icc_profile"] is True
    assert "colour profile" in f.title
