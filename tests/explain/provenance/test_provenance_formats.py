"""Containers beyond JPEG and PNG: WebP, GIF, TIFF, HEIF and AVIF carry evidence too."""

from __future__ import annotations

import io

import pytest
from PIL import Image, features

from explain.provenance import read_provenance
from explain.provenance.container import read_container, sniff_format
from tests.factories import provenance_samples as s

AI_XMP = s.xmp_packet({"Iptc4xmpExt:DigitalSourceType": s.AI_SOURCE})


def kinds(data: bytes) -> set[str]:
    return {f.kind for f in read_provenance(data).findings}


def test_webp_exif_xmp_and_size():
    data = s.webp_bytes((80, 60), exif=s.camera_exif(), xmp=AI_XMP)
    c = read_container(data)
    assert (c.file_format, c.width, c.height) == ("webp", 80, 60)
    assert {"camera", "xmp_source_type"} <= kinds(data)


def test_webp_with_content_credentials():
    signed = s.sign_c2pa(s.webp_bytes(), "image/webp")
    (f,) = read_provenance(signed).of_kind("c2pa")
    assert f.details["status"] == "valid_untrusted"
    assert f.details["digital_source_type"] == "trainedAlgorithmicMedia"


def test_gif_xmp_application_extension():
    buf = io.BytesIO()
    Image.new("P", (20, 10)).save(buf, "GIF")
    gif = buf.getvalue()
    data = gif[:-1] + b"\x21\xff\x0bXMP DataXMP" + AI_XMP + b"\x00" + gif[-1:]
    c = read_container(data)
    assert (c.file_format, c.width, c.height) == ("gif", 20, 10)
    assert "xmp_source_type" in kinds(data)


def test_tiff_exif_is_the_file_itself():
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "TIFF", exif=s.camera_exif())
    (f,) = read_provenance(buf.getvalue()).of_kind("camera")
    assert f.details["model"] == "Canon EOS R5"


def _heif_bytes() -> bytes:
    # pillow_heif's own writer: registering its Pillow opener would change Pillow for the session.
    pillow_heif = pytest.importorskip("pillow_heif")
    heif = pillow_heif.from_pillow(Image.new("RGB", (64, 48), (10, 200, 30)))
    buf = io.BytesIO()
    heif.save(buf, quality=80, exif=s.camera_exif().tobytes(), xmp=AI_XMP)
    return buf.getvalue()


def _avif_bytes() -> bytes:
    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF support")
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buf, "AVIF", exif=s.camera_exif(), xmp=AI_XMP, quality=80)
    return buf.getvalue()


@pytest.mark.parametrize(("build", "name"), [(_heif_bytes, "heif"), (_avif_bytes, "avif")])
def test_heif_and_avif_exif_and_xmp(build, name):
    data = build()
    assert sniff_format(data) == name
    prov = read_provenance(data)
    assert prov.file_format == name
    assert prov.of_kind("camera")[0].details["make"] == "Canon"
    assert prov.of_kind("xmp_source_type")[0].points_to == "ai"


@pytest.mark.parametrize(
    ("head", "fmt"),
    [(b"\xff\xd8\xff\xe0", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"RIFF\x00\x00\x00\x00WEBP", "webp"),
     (b"GIF87a", "gif"), (b"MM\x00*", "tiff"), (b"\x00\x00\x00\x1cftypavif", "avif"),
     (b"\x00\x00\x00\x18ftypmif1", "heif"), (b"%PDF-1.7", "unknown")],
)  # fmt: skip
def test_sniffing(head, fmt):
    assert sniff_format(head + b"\x00" * 32) == fmt
