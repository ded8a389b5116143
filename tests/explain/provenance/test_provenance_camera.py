"""Camera evidence from EXIF: make, model, lens, capture time, and GPS presence without coordinates."""

from __future__ import annotations

import io
import json
import struct

import pytest
from PIL import Image

from explain.provenance import read_provenance
from explain.provenance.exif import MAKE, MODEL, parse_exif
from tests.factories import provenance_samples as s


def camera_finding(data: bytes):
    found = read_provenance(data).of_kind("camera")
    assert len(found) == 1
    return found[0]


def test_full_camera_exif_is_moderate_evidence():
    f = camera_finding(s.jpeg_bytes(exif=s.camera_exif()))
    assert (f.strength, f.points_to) == ("moderate", "camera")
    assert f.title == "Camera information: Canon EOS R5"
    assert f.details == {
        "make": "Canon",
        "model": "Canon EOS R5",
        "lens": "RF24-105mm F4 L IS USM",
        "capture_time": "2024:05:01 10:30:00",
        "gps_present": True,
        "exposure_settings_present": True,
        "maker_note_present": True,
    }
    assert "easy to copy" in f.meaning


def test_gps_coordinates_never_leave_the_reader():
    data = s.jpeg_bytes(exif=s.camera_exif(gps=True))
    gps = Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    assert gps[2] == s.SAMPLE_GPS[0][1]  # the file does carry the coordinates
    prov = read_provenance(data)
    text = json.dumps(prov.to_json())
    # SAMPLE_GPS is 37°13'41.217" N, 115°48'29.333" W (decimal 37.228..., -115.808...).
    for fragment in ("41.217", "29.333", "37.22", "115.8", "37.0", "115.0", '"N"', '"W"'):
        assert fragment not in text, fragment
    assert prov.of_kind("camera")[0].details["gps_present"] is True


def test_no_gps_is_reported_as_absent():
    f = camera_finding(s.jpeg_bytes(exif=s.camera_exif(gps=False)))
    assert f.details["gps_present"] is False
    assert "location" not in f.meaning


def test_bare_make_and_model_are_weak():
    exif = s.camera_exif(lens=None, captured=None, gps=False, maker_note=False, exposure=False)
    f = camera_finding(s.jpeg_bytes(exif=exif))
    assert f.strength == "weak"


def test_camera_exif_in_png_and_webp():
    assert camera_finding(s.png_bytes(exif=s.camera_exif())).details["model"] == "Canon EOS R5"
    assert camera_finding(s.webp_bytes(exif=s.camera_exif())).details["make"] == "Canon"


def test_make_and_model_from_xmp_when_exif_is_missing():
    xmp = s.xmp_packet({"tiff:Make": "NIKON CORPORATION", "tiff:Model": "NIKON Z 6"})
    f = camera_finding(s.jpeg_bytes(xmp=xmp))
    assert f.title == "Camera information: NIKON Z 6"  # the make is not repeated


def test_little_endian_exif_written_by_hand():
    # Pillow writes big-endian EXIF; cameras often write little-endian ("II").
    make, model = b"FUJIFILM\x00", b"X-T5\x00\x00\x00\x00"
    entries = 2
    data_at = 8 + 2 + 12 * entries + 4
    ifd = struct.pack("<H", entries)
    ifd += struct.pack("<HHII", MAKE, 2, len(make), data_at)
    ifd += struct.pack("<HHII", MODEL, 2, len(model), data_at + len(make))
    ifd += b"\x00\x00\x00\x00"
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + make + model
    exif = parse_exif(tiff)
    assert (exif.text(MAKE), exif.text(MODEL)) == ("FUJIFILM", "X-T5")
    f = camera_finding(s.insert_jpeg_segment(s.jpeg_bytes(), 0xE1, b"Exif\x00\x00" + tiff))
    assert f.title == "Camera information: FUJIFILM X-T5"


def test_gps_without_camera_names_is_weak_and_coordinate_free():
    exif = s.camera_exif(make="", model="", lens=None, captured=None, maker_note=False, exposure=False)
    del exif[0x010F], exif[0x0110]
    (f,) = read_provenance(s.jpeg_bytes(exif=exif)).of_kind("camera")
    assert f.details == {"gps_present": True}
    assert f.strength == "weak"


def test_no_exif_no_camera_finding():
    assert read_provenance(s.jpeg_bytes()).of_kind("camera") == ()


@pytest.mark.parametrize("bare", [False, True])
def test_heif_exif_is_read_with_or_without_the_exif_prefix(bare):
    # Issue 17, finding 5: a phone HEIF whose EXIF item has no "Exif\0\0" read as "No metadata".
    data = s.heif_bytes(exif=s.camera_exif(), bare_exif=bare)
    prov = read_provenance(data)
    assert prov.file_format == "heif"
    [f] = prov.of_kind("camera")
    assert f.title == "Camera information: Canon EOS R5"
    assert f.details["gps_present"] is True
    assert prov.of_kind("no_metadata") == ()
