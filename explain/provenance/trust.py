"""Which C2PA signers count as trusted: trust anchors, an allowed list and a trust config.

Nothing ships here and nothing is fetched: a deployment points `--c2pa-trust` /
`SPOT_C2PA_TRUST` at either

- one PEM file of trust anchors (root certificates), e.g. the C2PA conformance trust list,
  `C2PA-TRUST-LIST.pem` from https://github.com/c2pa-org/conformance-public/tree/main/trust-list
  (download it where a network is allowed, copy it next to the app); or
- a folder holding any of `anchors.pem` (trust anchors), `allowed.pem` (end-entity certificates
  accepted as they are: c2pa-rs's allowed list) and `store.cfg` (the extended key usages a
  signing certificate may carry, one OID a line: c2pa-rs's trust config), the file names the
  Content Authenticity Initiative's verify site used for its trust settings.

Anchors are added to those c2pa-rs ships with (`trust.user_anchors`); the allowed list and trust
config map to c2pa-rs's `trust.allowed_list` and `trust.trust_config`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

_PEM_CERT = "-----BEGIN CERTIFICATE-----"
MAX_TRUST_FILE = 16 * 1024 * 1024  # the C2PA trust list is tens of kilobytes
FOLDER_FILES = {"anchors": "anchors.pem", "allowed": "allowed.pem", "config": "store.cfg"}


@dataclass(frozen=True)
class C2paTrust:
    """PEM texts handed to c2pa-rs; frozen and hashable so the reader context can be cached."""

    anchors_pem: str | None = None
    allowed_pem: str | None = None
    trust_config: str | None = None
    source: str = ""  # where it was read from, for messages

    @property
    def empty(self) -> bool:
        return not (self.anchors_pem or self.allowed_pem or self.trust_config)

    def settings(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.anchors_pem:
            # user_anchors add to the anchors c2pa-rs ships with; trust_anchors would replace them.
            out["user_anchors"] = self.anchors_pem
        if self.allowed_pem:
            out["allowed_list"] = self.allowed_pem
        if self.trust_config:
            out["trust_config"] = self.trust_config
        return out


def _read(path: Path, *, pem: bool) -> str:
    if path.stat().st_size > MAX_TRUST_FILE:
        raise ValueError(f"{path} is larger than {MAX_TRUST_FILE // (1024 * 1024)} MB")
    text = path.read_text(encoding="utf-8", errors="replace")
    if pem and _PEM_CERT not in text:
        raise ValueError(f"{path} holds no PEM certificate ({_PEM_CERT} ...)")
    return text


def load_trust(path: str | os.PathLike[str] | None) -> C2paTrust | None:
    """The trust settings at `path` (a PEM file or a folder, see the module doc); None for none.

    Raises ValueError with a sentence for the operator when the path is unusable: a setting that
    silently trusts nobody would look like every signer is a stranger.
    """
    if path is None or not str(path).strip():
        return None
    p = Path(path).expanduser()
    try:
        if p.is_dir():
            found = {k: p / name for k, name in FOLDER_FILES.items() if (p / name).is_file()}
            if not found:
                names = ", ".join(FOLDER_FILES.values())
                raise ValueError(f"C2PA trust folder {p} holds none of {names}")
            return C2paTrust(
                anchors_pem=_read(found["anchors"], pem=True) if "anchors" in found else None,
                allowed_pem=_read(found["allowed"], pem=True) if "allowed" in found else None,
                trust_config=_read(found["config"], pem=False) if "config" in found else None,
                source=str(p),
            )
        return C2paTrust(anchors_pem=_read(p, pem=True), source=str(p))
    except OSError as exc:
        raise ValueError(f"C2PA trust file {p} cannot be read: {exc.strerror or exc}") from None


@functools.lru_cache(maxsize=4)
def cached_trust(path: str | None) -> C2paTrust | None:
    """`load_trust` read once per path: a server passes the same setting with every upload."""
    return load_trust(path)


def as_trust(trust: C2paTrust | None, anchors_pem: str | None) -> C2paTrust | None:
    """One C2paTrust from the new argument and the older `c2pa_trust_anchors_pem` one."""
    if anchors_pem:
        base = trust or C2paTrust()
        merged = "\n".join(p for p in (base.anchors_pem, anchors_pem) if p)
        trust = C2paTrust(merged, base.allowed_pem, base.trust_config, base.source)
    return None if trust is None or trust.empty else trust
