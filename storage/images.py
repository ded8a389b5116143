"""Content-addressed image files: `<data_dir>/images/ab/<sha256>.bin`, byte-exact as uploaded.

The path is derived from the sha256 hex of the bytes and nothing else, so no user-supplied string
(file name, format, id) ever becomes part of a path. Writes are atomic: a private temp file in the
same folder, fsync, rename, fsync of the folder. The store writes the file before the row that
points at it, so a crash can leave a file without a row but never a row without its file;
`sweep` removes such orphans (and stale temp files) at start-up, and `check` reports them.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import ValidationError
from .validate import sha256_hex

FILE_RE = re.compile(r"^([0-9a-f]{64})\.bin$")
TMP_RE = re.compile(r"^\.([0-9a-f]{64})\.[0-9a-f]{16}\.tmp$")


def checked_bytes(data: object) -> tuple[bytes, str]:
    """A picture's bytes as bytes, and their sha256; refuses what is not bytes or is empty."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValidationError("image data must be bytes")
    data = bytes(data)
    if not data:
        raise ValidationError("image data is empty")
    return data, hashlib.sha256(data).hexdigest()


class FileChecks:
    """`check` for a picture store that has `read(sha256)`, `iter_files()` and `shown(path)`."""

    def check(self, stored: dict[str, int | None]) -> list[str]:
        """Problems with the files, given the rows that say a file is kept (sha256 -> size): a kept
        file missing or altered, and files with no such row (temp files included)."""
        problems: list[str] = []
        for sha, size in stored.items():
            data = self.read(sha)
            if data is None:
                problems.append(f"image {sha} is marked stored but its file is missing")
            elif len(data) != size or hashlib.sha256(data).hexdigest() != sha:
                problems.append(f"image {sha}: file content does not match its hash")
        for sha, path, is_temp in self.iter_files():
            if is_temp or sha not in stored:
                problems.append(f"orphan file {self.shown(path)}")
        return problems


class ImageFiles(FileChecks):
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "images"

    @staticmethod
    def rel_path(sha256: str) -> str:
        sha = sha256_hex(sha256)
        return f"images/{sha[:2]}/{sha}.bin"

    def path(self, sha256: str) -> Path:
        return self.data_dir / self.rel_path(sha256)

    def write(self, data: bytes) -> tuple[str, Path]:
        """Store `data` (idempotent: the same bytes land on the same path); return (sha256, path)."""
        data, sha = checked_bytes(data)
        final = self.path(sha)
        try:
            if final.stat().st_size == len(data) and final.read_bytes() == data:
                return sha, final  # already stored, intact
        except FileNotFoundError:
            pass
        folder = final.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = folder / f".{sha}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(folder)
        return sha, final

    def read(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def remove(self, sha256: str) -> bool:
        path = self.path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def iter_files(self) -> Iterator[tuple[str, Path, bool]]:
        """(sha256, path, is_temp) for every file the store could have written."""
        if not self.root.is_dir():
            return
        for sub in self.root.iterdir():
            if not (sub.is_dir() and len(sub.name) == 2):
                continue
            for entry in sub.iterdir():
                m = FILE_RE.match(entry.name)
                if m and m.group(1)[:2] == sub.name:
                    yield m.group(1), entry, False
                    continue
                t = TMP_RE.match(entry.name)
                if t:
                    yield t.group(1), entry, True

    def shown(self, path: Path) -> str:
        return str(path.relative_to(self.data_dir))

    def sweep(self, stored: set[str], grace_s: float) -> tuple[int, int]:
        """Remove files whose sha is not in `stored`, and temp files, older than `grace_s` seconds
        (the grace keeps a file that another process has just written and is about to commit).
        Returns (orphans removed, temp files removed)."""
        cutoff = time.time() - grace_s
        orphans = temps = 0
        for sha, path, is_temp in list(self.iter_files()):
            if not is_temp and sha in stored:
                continue
            try:
                if path.stat().st_mtime > cutoff:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            if is_temp:
                temps += 1
            else:
                orphans += 1
        return orphans, temps


def _fsync_dir(folder: Path) -> None:
    """Make a rename or unlink durable: fsync the directory entry (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
