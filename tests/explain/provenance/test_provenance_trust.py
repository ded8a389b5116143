"""Trust settings for Content Credentials: a PEM file or a folder, read once, handed to c2pa-rs
(issue 17, finding 6). Real files signed with test certificates; the roots are written to disk."""

from __future__ import annotations

import pytest

from explain.provenance import load_trust, read_provenance
from tests.factories import provenance_samples as s


@pytest.fixture(scope="module")
def identity() -> s.SigningIdentity:
    return s.signing_identity("Firefly Test Signer", "Test Adobe Lab")


@pytest.fixture(scope="module")
def signed(identity) -> bytes:
    return s.sign_c2pa(s.jpeg_bytes(), "image/jpeg", generator="Test Firefly", identity=identity)


def c2pa_of(data: bytes, trust):
    [f] = read_provenance(data, c2pa_trust=trust).of_kind("c2pa")
    return f


def test_pem_file_of_anchors_makes_the_signer_trusted_and_named(signed, identity, tmp_path):
    pem = tmp_path / "C2PA-TRUST-LIST.pem"
    pem.write_text(identity.root_pem)
    f = c2pa_of(signed, load_trust(pem))
    assert f.details["status"] == "trusted" and f.details["signer_trusted"] is True
    assert "Firefly Test Signer / Test Adobe Lab" in f.title  # by name and organisation
    assert f.details["signer"] == {**f.details["signer"], "common_name": "Firefly Test Signer",
                                   "organization": "Test Adobe Lab"}  # fmt: skip
    assert (f.strength, f.points_to) == ("strong", "ai")


def test_folder_with_anchors_and_trust_config(signed, identity, tmp_path):
    (tmp_path / "anchors.pem").write_text(identity.root_pem)
    # emailProtection (the test certificate's) and documentSigning: c2pa-rs's trust config.
    (tmp_path / "store.cfg").write_text("1.3.6.1.5.5.7.3.4\n1.3.6.1.5.5.7.3.36\n")
    trust = load_trust(tmp_path)
    assert trust.trust_config and trust.anchors_pem and trust.allowed_pem is None
    assert c2pa_of(signed, trust).details["status"] == "trusted"


def test_without_trust_the_signer_stays_unverified(signed):
    f = c2pa_of(signed, None)
    assert f.details["status"] == "valid_untrusted"
    assert "Anyone can make such a certificate" in f.meaning


@pytest.mark.parametrize("content", ["", "not a certificate"])
def test_unusable_trust_files_are_refused_with_a_sentence(tmp_path, content):
    bad = tmp_path / "anchors.pem"
    bad.write_text(content)
    with pytest.raises(ValueError, match="no PEM certificate"):
        load_trust(bad)
    with pytest.raises(ValueError, match="cannot be read"):
        load_trust(tmp_path / "missing.pem")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds none of"):
        load_trust(empty)
    assert load_trust(None) is None and load_trust("  ") is None
