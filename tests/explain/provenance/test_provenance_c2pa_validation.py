"""The C2PA status follows c2pa-rs's own verdict, for the manifest, its identity assertions and
its ingredients; credentials referenced by XMP but removed are called removed (issue 17).

Every file is signed here with real c2pa-python and test certificates made by the factory.
"""

from __future__ import annotations

import time

import pytest

from explain.provenance import read_provenance
from explain.provenance.c2pa_validation import words_for
from tests.factories import provenance_samples as s


def c2pa_of(data: bytes):
    found = read_provenance(data).of_kind("c2pa")
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def identity() -> s.SigningIdentity:
    return s.signing_identity("Validation Test Signer", "Validation Lab")


def test_expired_signing_credential_is_invalid_as_the_sdk_says():
    # Finding 2: c2pa-rs says Invalid (signingCredential.expired); the panel said "valid".
    short_lived = s.signing_identity("Short Lived Signer", "Lab", valid_for_s=1.5)
    signed = s.sign_c2pa(s.jpeg_bytes(), "image/jpeg", identity=short_lived)
    time.sleep(2.6)  # X.509 times have one-second resolution
    f = c2pa_of(signed)
    assert f.details["validation_state"] == "Invalid"
    assert f.details["status"] == "invalid"
    assert (f.strength, f.points_to) == ("weak", "none")
    assert "signingCredential.expired" in [p["code"] for p in f.details["problems"]]
    assert "certificate has expired" in f.meaning


def test_failing_identity_assertion_makes_the_credentials_invalid(identity):
    # Finding 2: the cawg.* codes slipped through as "signature valid".
    signed = s.sign_c2pa(s.jpeg_bytes(), "image/jpeg", identity=identity,
                         assertions=[s.BROKEN_IDENTITY_ASSERTION])  # fmt: skip
    f = c2pa_of(signed)
    assert f.details["status"] == "invalid"
    identity_problems = [p for p in f.details["problems"] if p["where"] == "identity"]
    assert identity_problems and all(p["code"].startswith("cawg.") for p in identity_problems)
    assert "identity assertion" in f.meaning
    assert f.points_to == "none"


def test_invalid_state_stands_even_without_a_code_we_know():
    from explain.provenance.c2pa_validation import validation_of

    v = validation_of({"validation_state": "Invalid", "validation_results": {"activeManifest": {
        "success": [{"code": "claimSignature.validated"}, {"code": "assertion.dataHash.match"}],
        "failure": [{"code": "signingCredential.untrusted"}]}}})  # fmt: skip
    assert v.status == "invalid"
    v = validation_of({"validation_state": "Valid", "validation_results": {"activeManifest": {
        "success": [{"code": "claimSignature.validated"}],
        "failure": [{"code": "some.future.code", "explanation": "new check failed"}]}}})  # fmt: skip
    assert v.status == "invalid"
    assert v.problems[0].words == "the check 'some.future.code' failed (new check failed)"


def test_ingredient_with_a_broken_signature_is_named(identity):
    # Finding 3: the panel showed only "ingredients: 1".
    parent = s.sign_c2pa(s.jpeg_bytes(), "image/jpeg", generator="TestDiffusion XL",
                         identity=identity)  # fmt: skip
    broken_parent = s.forge_manifest(parent, b"TestDiffusion XL")
    child = s.sign_c2pa(s.jpeg_bytes(), "image/jpeg", identity=identity,
                        ingredient=(broken_parent, "image/jpeg"))  # fmt: skip
    f = c2pa_of(child)
    assert f.details["status"] == "valid_untrusted"  # the active manifest itself verifies
    [check] = f.details["ingredient_checks"]
    assert check["title"] == "parent.jpg" and check["valid"] is False
    assert check["has_credentials"] is True
    assert "changed after signing" in check["problems"][0]["words"]
    assert "ingredient" in f.title and "does not verify" in f.meaning
    assert f.strength in ("weak", "info")  # never more than an unverified signer is worth


def test_intact_ingredient_is_reported_valid(identity):
    parent = s.sign_c2pa(s.jpeg_bytes(), "image/jpeg", identity=identity)
    child = s.sign_c2pa(s.jpeg_bytes(), "image/jpeg", identity=identity,
                        ingredient=(parent, "image/jpeg"))  # fmt: skip
    f = c2pa_of(child)
    assert [c["valid"] for c in f.details["ingredient_checks"]] == [True]
    assert "does not verify" not in f.meaning


def test_stripped_manifest_is_called_removed_not_remote():
    # Finding 4: XMP points at a manifest inside this file (self#jumbf=...) that is gone.
    f = c2pa_of(s.stripped_manifest_jpeg())
    assert f.details["status"] == "stripped"
    assert f.points_to == "processed"
    assert "removed" in f.meaning and "elsewhere" not in f.meaning


def test_plain_words_for_known_and_unknown_codes():
    assert "expired" in words_for("signingCredential.expired")
    assert "identity" in words_for("cawg.ica.credential_invalid")
    assert words_for("x.y", "<b>why</b>\u202e") == "the check 'x.y' failed (<b>why</b>)"
