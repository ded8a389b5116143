"""Consented pictures in a store that several app replicas share: any fsspec URL (`s3://bucket/spot`,
`gcs://…`, `hf://buckets/…`, `file:///mnt/shared/spot`), with the layout and the interface of the
local `ImageFiles` (`<root>/images/ab/<sha256>.bin`, byte-exact, content-addressed).

Content addressing makes replicas safe without locks: two writers of one picture write the same
bytes to the same name, each through a private temporary name moved into place; the database row
(written after the file) is what says a picture is kept. `open_image_files` picks this store when
a URL is given and the local folder (with its fsync'd atomic writes) otherwise.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .images import FILE_RE, TMP_RE, FileChecks, ImageFiles, checked_bytes


@dataclass(frozen=True)
class StoredImage:
    """A picture's place in an fsspec store; `read_bytes()` like a Path, for the exporters."""

    fs: Any
    path: str

    def read_bytes(self) -> bytes:
        try:
            return self.fs.cat_file(self.path)
        except FileNotFoundError as err:
            raise OSError(str(err)) from None

    def __str__(self) -> str:
        return self.path


class FsspecImageFiles(FileChecks):
    """`ImageFiles` over an fsspec file system rooted at `url`."""

    def __init__(self, url: str) -> None:
        import fsspec  # noqa: PLC0415 - only when a shared picture store is configured

        try:
            self.fs, root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as err:
            raise ConfigError(f"picture store {url!r}: {err}") from None
        self.url = url
        self.root = root.rstrip("/")  # folders are made on first write: opening leaves no trace

    rel_path = staticmethod(ImageFiles.rel_path)

    def _full(self, sha256: str) -> str:
        return f"{self.root}/{self.rel_path(sha256)}"

    def path(self, sha256: str) -> StoredImage:
        return StoredImage(self.fs, self._full(sha256))

    def write(self, data: bytes) -> tuple[str, StoredImage]:
        data, sha = checked_bytes(data)
        final = self._full(sha)
        if self.read(sha) == data:
            return sha, self.path(sha)  # already stored, intact (maybe by another replica)
        folder = final.rsplit("/", 1)[0]
        self.fs.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.{sha}.{secrets.token_hex(8)}.tmp"
        try:
            self.fs.pipe_file(tmp, data)
            self.fs.mv(tmp, final)  # a rename where the file system has one; readers never see half a file
        except BaseException:
            self._rm(tmp)
            raise
        return sha, self.path(sha)

    def read(self, sha256: str) -> bytes | None:
        try:
            return self.fs.cat_file(self._full(sha256))
        except FileNotFoundError:
            return None

    def exists(self, sha256: str) -> bool:
        return self.fs.isfile(self._full(sha256))

    def remove(self, sha256: str) -> bool:
        return self._rm(self._full(sha256))

    def _rm(self, path: str) -> bool:
        try:
            if not self.fs.isfile(path):
                return False
            self.fs.rm_file(path)
        except FileNotFoundError:
            return False
        return True

    def iter_files(self) -> Iterator[tuple[str, str, bool]]:
        """(sha256, path, is_temp) for every file the store could have written."""
        try:
            found = self.fs.find(f"{self.root}/images")
        except FileNotFoundError:
            return
        for path in found:
            parent, _, name = path.rpartition("/")
            sub = parent.rpartition("/")[2]
            m = FILE_RE.match(name)
            if m and m.group(1)[:2] == sub:
                yield m.group(1), path, False
                continue
            t = TMP_RE.match(name)
            if t:
                yield t.group(1), path, True

    def shown(self, path: str) -> str:
        return path.removeprefix(self.root + "/")

    def sweep(self, stored: set[str], grace_s: float) -> tuple[int, int]:
        """As ImageFiles.sweep; a file whose age the store does not report is left alone."""
        cutoff = time.time() - grace_s
        orphans = temps = 0
        for sha, path, is_temp in list(self.iter_files()):
            if not is_temp and sha in stored:
                continue
            try:
                mtime = _mtime(self.fs.info(path))
            except FileNotFoundError:
                continue
            if mtime is None or mtime > cutoff or not self._rm(path):
                continue
            if is_temp:
                temps += 1
            else:
                orphans += 1
        return orphans, temps


def _mtime(info: dict[str, Any]) -> float | None:
    """Seconds since the epoch from an fsspec `info` (each file system names it its own way)."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


def open_image_files(data_dir: str | Path, image_store: str | None = None) -> ImageFiles | FsspecImageFiles:
    """The picture store: the fsspec URL `image_store` when given, else `<data_dir>/images`."""
    if image_store:
        return FsspecImageFiles(image_store)
    return ImageFiles(Path(data_dir))
