"""Pseudonymous visitor ids: a keyed hash of whatever raw id the UI has (session id, IP...).

The raw id is never stored. With the key, the same visitor maps to the same 64-hex id, so their
history and edits line up; without the key, the ids cannot be reversed or linked to an address by
hashing guesses (which a plain unkeyed hash of an IP would allow: there are only 2**32 of them).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from .errors import ConfigError

SECRET_ENV = "SPOT_SECRET_KEY"
SECRET_FILE = "secret.key"
MIN_SECRET_CHARS = 16


def client_hash(raw_id: str, secret: bytes) -> str:
    """HMAC-SHA256 of `raw_id` under `secret`, as 64 lower-case hex characters."""
    if not isinstance(raw_id, str) or not raw_id:
        raise ValueError("client id must be a non-empty string")
    if not secret:
        raise ValueError("secret key must not be empty")
    return hmac.new(secret, raw_id.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def load_secret(data_dir: Path, env: Mapping[str, str] | None = None) -> bytes:
    """The key for `client_hash`: env SPOT_SECRET_KEY if set, else `<data_dir>/secret.key`,
    created on first use with 32 random bytes and mode 0600."""
    env = os.environ if env is None else env
    from_env = env.get(SECRET_ENV)
    if from_env:
        if len(from_env) < MIN_SECRET_CHARS:
            raise ConfigError(f"{SECRET_ENV} is too short ({len(from_env)} characters); "
                              f"use at least {MIN_SECRET_CHARS}, e.g. the output of "
                              "`python -c 'import secrets; print(secrets.token_hex(32))'`")
        return from_env.encode("utf-8")
    path = Path(data_dir) / SECRET_FILE
    try:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _create_secret_file(path)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)  # someone loosened it; the key guards visitors' pseudonyms
        key_hex = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(key_hex)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"cannot read or create the secret key file {path}: {err}") from None
    if len(key) < 16:
        raise ConfigError(f"the secret key file {path} holds too short a key; delete it to make a new one "
                          "(visitors' past history will no longer be linked to them)")
    return key


def _create_secret_file(path: Path) -> None:
    """Write a new key atomically: to a private temp file, then hard-link into place, which fails
    if another process got there first (then we use theirs)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
