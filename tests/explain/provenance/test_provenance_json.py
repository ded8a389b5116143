"""The shape the CLI, storage and UI rely on: Provenance.to_json() and its round trip."""

from __future__ import annotations

import json

import pytest

from explain.provenance import GLOSSARY, KINDS, STRENGTH_MEANINGS, Finding, Provenance, read_provenance
from tests.factories import provenance_samples as s


@pytest.fixture(scope="module")
def rich() -> Provenance:
    """A file with many kinds of evidence at once (contradictory on purpose: no verdict is drawn)."""
    xmp = s.xmp_packet({"Iptc4xmpExt:DigitalSourceType": s.AI_SOURCE, "photoshop:Credit": "Made with Google AI"})
    exif = s.camera_exif(software="GIMP 2.10", pixel_size=(4000, 3000))
    return read_provenance(s.jpeg_bytes(quality=70, exif=exif, xmp=xmp))


def test_json_shape(rich):
    d = json.loads(json.dumps(rich.to_json()))
    assert set(d) == {"version", "file_format", "elapsed_s", "findings", "errors"}
    assert d["version"] == 1 and d["file_format"] == "jpeg"
    assert isinstance(d["elapsed_s"], float) and d["errors"] == []
    for f in d["findings"]:
        assert set(f) == {"kind", "strength", "points_to", "title", "meaning", "details"}
        assert f["kind"] in KINDS
        assert "\n" not in f["meaning"] and len(f["meaning"]) < 400
    kinds = {f["kind"] for f in d["findings"]}
    assert {"xmp_source_type", "ai_disclosure", "camera", "editing_software", "reencoding"} <= kinds


def test_findings_are_sorted_strongest_first(rich):
    order = ["strong", "moderate", "weak", "info"]
    ranks = [order.index(f.strength) for f in rich.findings]
    assert ranks == sorted(ranks)


def test_contradictory_evidence_is_all_shown(rich):
    directions = {f.points_to for f in rich.findings}
    assert {"ai", "camera", "processed"} <= directions


def test_round_trip(rich):
    again = Provenance.from_json(json.loads(json.dumps(rich.to_json())))
    assert again.findings == rich.findings
    assert again.file_format == rich.file_format


def test_finding_rejects_unknown_values():
    with pytest.raises(ValueError):
        Finding("c2pa", "certain", "ai", "t", "m")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Finding("horoscope", "info", "none", "t", "m")


def test_details_are_made_json_safe():
    f = Finding("camera", "info", "none", "t", "m", {"b": b"\x00\x01", "n": float("nan"), 3: {1, 2}})
    assert json.dumps(f.to_json())
    assert f.to_json()["details"]["b"] == "<2 bytes>"
    assert f.to_json()["details"]["n"] is None


def test_glossary_and_legend_cover_everything():
    assert set(GLOSSARY) == set(KINDS)
    assert all(entry["title"] and len(entry["text"]) > 80 for entry in GLOSSARY.values())
    assert set(STRENGTH_MEANINGS) == {"strong", "moderate", "weak", "info"}
