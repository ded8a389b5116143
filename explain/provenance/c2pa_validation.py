"""What c2pa-rs concluded about a manifest store, in plain words: one status, named problems.

The status follows the SDK's own verdict (`validation_state`: Trusted | Valid | Invalid) and its
validation results, rather than a list of codes we happen to know: a code we have never seen still
counts as a failure, named by the SDK's explanation. Three places are read:

- the active manifest's results (claim signature, signing credential, assertions, bindings);
- the identity assertions (CAWG, codes `cawg.*`), reported among the active manifest's results;
- each ingredient: its own recorded results and the delta the SDK found on this read.

Only `signingCredential.untrusted` is not a failure here: it is the "nobody vouches for this
signer" case, which the status reports separately (valid_untrusted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import limits

_UNTRUSTED = "signingCredential.untrusted"
_HARD_BINDING_MATCH = ("assertion.dataHash.match", "assertion.bmffHash.match",
                       "assertion.boxesHash.match", "assertion.collectionHash.match")  # fmt: skip
_HARD_BINDING_FAIL = ("assertion.dataHash.mismatch", "assertion.bmffHash.mismatch",
                      "assertion.boxesHash.mismatch", "assertion.collectionHash.mismatch",
                      "assertion.dataHash.malformed", "assertion.bmffHash.malformed",
                      "claim.hardBindings.missing")  # fmt: skip

# Plain words for the failures people meet; anything else is described by the SDK's own text.
_WORDS: tuple[tuple[str, str], ...] = (
    ("claimSignature.mismatch", "the claim signature does not match the signed record"),
    ("claimSignature.missing", "the claim is not signed"),
    ("claimSignature.outsideValidity", "the claim was signed outside the certificate's validity"),
    ("signingCredential.expired",
     "the signing certificate has expired and no trusted time stamp shows it was valid when used"),
    ("signingCredential.revoked", "the signing certificate was revoked"),
    ("signingCredential.invalid", "the signing certificate is not valid for signing"),
    ("signingCredential.notYetValid", "the signing certificate is not valid yet"),
    ("assertion.hashedURI.mismatch", "a signed statement in the record was changed after signing"),
    ("assertion.missing", "a signed statement is missing from the record"),
    ("assertion.dataHash.mismatch", "the image bytes no longer match the signed hash"),
    ("assertion.bmffHash.mismatch", "the image bytes no longer match the signed hash"),
    ("claim.hardBindings.missing", "the record is not bound to the image bytes"),
    ("ingredient.manifest.mismatch", "an ingredient's record changed after it was used"),
    ("ingredient.claimSignature.mismatch", "an ingredient's claim signature does not match"),
    ("timeStamp.mismatch", "the time stamp does not match the signature"),
    ("timeStamp.untrusted", "the time stamp authority is not trusted"),
    ("cawg.identity", "an identity assertion (who made it) does not verify"),
    ("cawg.x509.signature", "an identity assertion's signature does not verify"),
    ("cawg.ica", "an identity assertion's credential does not verify"),
    ("cawg.", "an identity assertion (who made it) does not verify"),
    ("manifest.", "the manifest store is malformed"),
    ("claim.", "the claim is malformed"),
)
MAX_PROBLEMS = 12


@dataclass
class Problem:
    code: str
    words: str
    where: str  # "manifest" | "identity" | "ingredient <title>"

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "words": self.words, "where": self.where}


@dataclass
class Validation:
    state: str  # c2pa-rs validation_state: "Trusted" | "Valid" | "Invalid" | ""
    signature_valid: bool | None
    binding_valid: bool | None
    trusted: bool | None
    failures: list[str] = field(default_factory=list)  # active manifest codes, untrusted included
    problems: list[Problem] = field(default_factory=list)  # manifest and identity failures
    ingredients: list[dict[str, Any]] = field(default_factory=list)  # title, valid, problems
    trust_list: str = ""  # which anchor list vouched for the signer (c2pa-rs's trustListUri)

    @property
    def status(self) -> str:
        """One word for the panel: trusted | valid_untrusted | binding_failed | invalid | unknown."""
        binding = [p for p in self.problems if p.code in _HARD_BINDING_FAIL]
        others = [p for p in self.problems if p.code not in _HARD_BINDING_FAIL]
        if others or self.signature_valid is False:
            return "invalid"
        if binding or self.binding_valid is False:
            return "binding_failed"
        if self.state == "Invalid":  # the SDK's verdict stands even when no code explains it
            return "invalid"
        if self.state == "Trusted" or (self.signature_valid and self.trusted):
            return "trusted"
        if self.signature_valid or self.state == "Valid":
            return "valid_untrusted"
        return "unknown"

    @property
    def broken_ingredients(self) -> list[dict[str, Any]]:
        return [i for i in self.ingredients if not i["valid"]]


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def words_for(code: str, explanation: object = None) -> str:
    for prefix, words in _WORDS:  # most specific first
        if code.startswith(prefix):
            return words
    text = limits.clean_text(explanation, 120)
    return f"the check '{limits.clean_text(code, 60)}' failed" + (f" ({text})" if text else "")


def _codes(entries: object) -> list[tuple[str, object]]:
    out = []
    for e in _list(entries)[:200]:
        if isinstance(e, dict) and e.get("code"):
            out.append((limits.clean_text(e["code"], 80), e.get("explanation")))
    return out


def _failures_of(results: object, legacy: object = None) -> list[tuple[str, object]]:
    """Failure codes of one results block ({"activeManifest": {...}}), or a legacy flat list."""
    failures = _codes(_dict(_dict(results).get("activeManifest")).get("failure"))
    seen = {c for c, _ in failures}
    for code, expl in _codes(legacy):  # older reports: validation_status lists failures only
        if code not in seen and not code.endswith((".validated", ".match", ".trusted")):
            failures.append((code, expl))
            seen.add(code)
    return failures


def _problems(failures: list[tuple[str, object]], where: str) -> list[Problem]:
    out: list[Problem] = []
    for code, expl in failures:
        if code == _UNTRUSTED or any(p.code == code for p in out):
            continue
        place = "identity" if code.startswith("cawg.") and where == "manifest" else where
        out.append(Problem(code, words_for(code, expl), place))
    return out[:MAX_PROBLEMS]


def _ingredient_checks(store: dict[str, Any], manifest: dict[str, Any]) -> list[dict[str, Any]]:
    results = _dict(store.get("validation_results"))
    deltas: dict[str, list[tuple[str, object]]] = {}
    for d in _list(results.get("ingredientDeltas"))[:50]:
        d = _dict(d)
        uri = str(d.get("ingredientAssertionURI", ""))
        deltas[uri.rsplit("/", 1)[-1]] = _codes(_dict(d.get("validationDeltas")).get("failure"))
    out = []
    for i, ing in enumerate(_list(manifest.get("ingredients"))[:20]):
        ing = _dict(ing)
        title = limits.clean_text(ing.get("title"), 80) or f"ingredient {i + 1}"
        failures = _failures_of(ing.get("validation_results"), ing.get("validation_status"))
        failures += deltas.get(str(ing.get("label", "")), [])
        problems = _problems(failures, f"ingredient {title}")
        out.append({
            "title": title,
            "relationship": limits.clean_text(ing.get("relationship"), 40) or None,
            "has_credentials": bool(ing.get("active_manifest") or ing.get("manifest_data")),
            "valid": not problems,
            "problems": [p.to_json() for p in problems],
        })  # fmt: skip
    return out


def validation_of(store: dict[str, Any], manifest: dict[str, Any] | None = None) -> Validation:
    results = _dict(store.get("validation_results"))
    active = _dict(results.get("activeManifest"))
    success = [c for c, _ in _codes(active.get("success"))]
    failures = _failures_of(results, store.get("validation_status"))
    codes = [c for c, _ in failures]
    signature_valid: bool | None = None
    if any(c.startswith("claimSignature.") for c in codes):
        signature_valid = False
    elif "claimSignature.validated" in success:
        signature_valid = True
    binding_valid: bool | None = None
    if any(c in _HARD_BINDING_FAIL for c in codes):
        binding_valid = False
    elif any(s in _HARD_BINDING_MATCH for s in success):
        binding_valid = True
    trusted: bool | None = None
    if "signingCredential.trusted" in success:
        trusted = True
    elif _UNTRUSTED in codes:
        trusted = False
    return Validation(
        state=limits.clean_text(store.get("validation_state"), 20),
        signature_valid=signature_valid,
        binding_valid=binding_valid,
        trusted=trusted,
        failures=codes[:20],
        problems=_problems(failures, "manifest"),
        ingredients=_ingredient_checks(store, manifest or {}),
        trust_list=str(results.get("trustListUri") or "") if trusted else "",
    )
