"""XMP / IPTC: digital source type and AI-disclosure labels, in JPEG, PNG and WebP, parsed safely."""

from __future__ import annotations

import struct

import pytest

from explain.provenance import read_provenance
from explain.provenance.xmp import parse_xmp
from tests.factories import provenance_samples as s

DST = "Iptc4xmpExt:DigitalSourceType"


@pytest.mark.parametrize(
    "build",
    [
        lambda x: s.jpeg_bytes(xmp=x),
        lambda x: s.png_bytes(xmp=x),
        lambda x: s.webp_bytes(xmp=x),
    ],
    ids=["jpeg", "png", "webp"],
)
def test_ai_source_type_is_found_in_every_container(build):
    prov = read_provenance(build(s.xmp_packet({DST: s.AI_SOURCE})))
    (f,) = prov.of_kind("xmp_source_type")
    assert (f.strength, f.points_to) == ("moderate", "ai")
    assert f.details["code"] == "trainedAlgorithmicMedia"
    assert "unsigned" in f.meaning


@pytest.mark.parametrize(
    ("uri", "code", "points_to", "strength"),
    [
        (s.AI_EDIT_SOURCE, "compositeWithTrainedAlgorithmicMedia", "ai", "moderate"),
        (s.CAMERA_SOURCE, "digitalCapture", "camera", "moderate"),
        ("http://cv.iptc.org/newscodes/digitalsourcetype/screenCapture", "screenCapture",
         "processed", "weak"),
        ("http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation", "digitalCreation",
         "none", "info"),
    ],
)  # fmt: skip
def test_source_type_vocabulary(uri, code, points_to, strength):
    (f,) = read_provenance(s.png_bytes(xmp=s.xmp_packet({DST: uri}))).of_kind("xmp_source_type")
    assert (f.details["code"], f.points_to, f.strength) == (code, points_to, strength)


def test_attribute_form_and_bare_code_are_understood():
    xmp = s.xmp_packet({DST: "trainedAlgorithmicMedia"}, as_attributes=True)
    (f,) = read_provenance(s.jpeg_bytes(xmp=xmp)).of_kind("xmp_source_type")
    assert f.points_to == "ai"


def test_unknown_source_type_is_reported_without_direction():
    xmp = s.xmp_packet({DST: "http://example.org/madeUpType"})
    (f,) = read_provenance(s.jpeg_bytes(xmp=xmp)).of_kind("xmp_source_type")
    assert (f.strength, f.points_to, f.details["code"]) == ("info", "none", None)


def test_iptc_ai_system_fields():
    xmp = s.xmp_packet({
        "Iptc4xmpExt:AISystemUsed": "Test Image Model",
        "Iptc4xmpExt:AISystemVersionUsed": "2.1",
        "Iptc4xmpExt:AIPromptInformation": "a cat " * 200,
    })  # fmt: skip
    (f,) = read_provenance(s.png_bytes(xmp=xmp)).of_kind("ai_disclosure")
    assert (f.strength, f.points_to) == ("moderate", "ai")
    assert f.details["system"] == "Test Image Model"
    assert f.details["system_version"] == "2.1"
    assert len(f.details["prompt_excerpt"]) <= 300  # prompts are kept as short excerpts


def test_made_with_google_ai_credit_line():
    xmp = s.xmp_packet({"photoshop:Credit": "Made with Google AI"})
    (f,) = read_provenance(s.jpeg_bytes(xmp=xmp)).of_kind("ai_disclosure")
    assert f.details["field"] == "photoshop:Credit"
    assert "Made with Google AI" in f.title


def test_ai_generated_caption_in_dc_description():
    xmp = s.xmp_packet({"dc:description": "Sunset over hills. AI-generated image."})
    (f,) = read_provenance(s.jpeg_bytes(xmp=xmp)).of_kind("ai_disclosure")
    assert f.details["field"] == "dc:description"


def test_credit_in_iptc_iim_photoshop_block():
    credit = b"Made with Google AI"
    iim = b"\x1c\x02\x6e" + struct.pack(">H", len(credit)) + credit  # record 2, dataset 110
    irb = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    data = s.insert_jpeg_segment(s.jpeg_bytes(), 0xED, b"Photoshop 3.0\x00" + irb)
    (f,) = read_provenance(data).of_kind("ai_disclosure")
    assert f.details["field"] == "IPTC-IIM Credit"


def test_ordinary_credit_and_caption_are_not_labels():
    xmp = s.xmp_packet({"photoshop:Credit": "Reuters", "dc:description": "Rain in Paris"})
    prov = read_provenance(s.jpeg_bytes(xmp=xmp))
    assert prov.of_kind("ai_disclosure") == ()
    assert prov.of_kind("xmp_source_type") == ()


def test_billion_laughs_is_refused_before_expansion():
    facts = parse_xmp(s.xmp_billion_laughs())
    assert facts.props == {}
    assert any("DTD" in n for n in facts.notes)


def test_external_entity_is_refused():
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>'
    )
    facts = parse_xmp(xxe)
    assert facts.props == {} and facts.notes


def test_deep_nesting_stops_at_the_depth_cap_but_keeps_earlier_values():
    deep = s.xmp_nested(100_000)
    head = s.xmp_packet({DST: s.AI_SOURCE})
    facts = parse_xmp(deep)
    assert any("deeper than" in n for n in facts.notes)
    # a valid packet beside a hostile one still counts
    prov = read_provenance(s.png_bytes(xmp=head, itxt={"XML:com.adobe.xmp": deep.decode()}))
    assert prov.of_kind("xmp_source_type")
    assert any("deeper than" in e for e in prov.errors)


def test_malformed_xmp_keeps_what_was_read_before_the_error():
    good = s.xmp_packet({DST: s.AI_SOURCE})
    broken = good.replace(b"</rdf:RDF>", b"</rdf:RDF><oops>")
    facts = parse_xmp(broken)
    assert facts.first(DST) == s.AI_SOURCE
    assert any("not well-formed" in n for n in facts.notes)


def test_oversized_packet_is_not_parsed():
    facts = parse_xmp(b"<x:xmpmeta>" + b" " * (2 * 1024 * 1024) + b"</x:xmpmeta>")
    assert facts.props == {} and facts.notes


def test_algorithmic_media_without_training_data_is_not_ai_evidence():
    # Issue 17, finding 8: IPTC algorithmicMedia is "not based on any sampled training data".
    xmp = s.xmp_packet({"Iptc4xmpExt:DigitalSourceType": ALGORITHMIC})
    [f] = read_provenance(s.jpeg_bytes(xmp=xmp)).of_kind("xmp_source_type")
    assert (f.strength, f.points_to) == ("info", "none")
    assert "without training data" in f.meaning


def test_trusted_algorithmic_media_claim_is_not_strong_ai_evidence():
    identity = s.signing_identity("Fractal Studio Signer", "Fractal Studio")
    signed = s.sign_c2pa(s.jpeg_bytes(), "image/jpeg", digital_source_type=ALGORITHMIC,
                         identity=identity)  # fmt: skip
    [f] = read_provenance(signed, c2pa_trust_anchors_pem=identity.root_pem).of_kind("c2pa")
    assert f.details["status"] == "trusted"
    assert (f.strength, f.points_to) == ("info", "none")


ALGORITHMIC = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"
