"""Pseudonymous visitor ids: keyed, stable, and the key itself kept private."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import threading
from pathlib import Path

import pytest

from storage import ConfigError, client_hash, load_secret


def test_client_hash_is_a_keyed_hmac() -> None:
    h = client_hash("203.0.113.7", b"k" * 32)
    assert h == hmac.new(b"k" * 32, b"203.0.113.7", hashlib.sha256).hexdigest()
    assert len(h) == 64 and h == client_hash("203.0.113.7", b"k" * 32)
    assert h != client_hash("203.0.113.7", b"j" * 32)  # another key, another pseudonym
    assert h != hashlib.sha256(b"203.0.113.7").hexdigest()  # not guessable by hashing addresses
    assert "203.0.113.7" not in h
    with pytest.raises(ValueError):
        client_hash("", b"k")
    with pytest.raises(ValueError):
        client_hash("x", b"")


def test_secret_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key = load_secret(tmp_path, env={})
    path = tmp_path / "secret.key"
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(tmp_path, env={}) == key
    os.chmod(path, 0o644)
    assert load_secret(tmp_path, env={}) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened again


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(load_secret(tmp_path, env={}))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no temp files left


def test_env_key_wins_and_must_be_long_enough(tmp_path: Path) -> None:
    assert load_secret(tmp_path, env={"SPOT_SECRET_KEY": "x" * 40}) == b"x" * 40
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(ConfigError, match="too short"):
        load_secret(tmp_path, env={"SPOT_SECRET_KEY": "short"})


def test_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("not hex at all")
    with pytest.raises(ConfigError, match="secret key file"):
        load_secret(tmp_path, env={})
