"""Share links: a visitor's chosen view of one of their results, addressed by an unguessable token.

A visitor may publish a read-only page of one result (demo/service/sharing.py decides what it
shows). The store keeps what that page needs and nothing more:

- the token itself is never stored, only its sha256: a copy of the database opens no page;
- `content` is the snapshot the visitor chose (JSON), `picture` a re-encoded copy of the picture
  without its metadata, present only when the visitor chose to share the picture;
- revoking (by the owner only: the same pseudonym that made it) wipes the content and the picture
  at once, leaving a tombstone so the token stays dead; deleting the prediction (or its image)
  deletes its shares (ON DELETE CASCADE).

Writes go through the store's one writer thread like every other write (storage/store.py).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import validate
from .errors import NotFound, ValidationError
from .models import PREDICTIONS, Base, utcnow
from .writer import Tx

TOKEN_BYTES = 24  # secrets.token_urlsafe(24): 32 characters, 192 random bits
TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]{32}$")
MAX_SHARE_PICTURE = 8 * 1024 * 1024
MAX_SHARE_JSON = 2 * 1024 * 1024  # maps of a long answer are ~40 KB each as JSON


class Share(Base):
    __tablename__ = "shares"
    __table_args__ = (Index("ix_shares_owner_hash", "owner_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    owner_hash: Mapped[str] = mapped_column(String(64))
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"), index=True)
    parts: Mapped[list[Any]] = mapped_column(default=list)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    picture: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


SHARES = Share.__table__


@dataclass(frozen=True)
class ShareOut:
    """A live share, as its page shows it (nothing that names its owner)."""

    prediction_id: int
    parts: tuple[str, ...]
    content: dict[str, Any]
    picture: bytes | None
    created_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def valid_share_token(token: Any) -> bool:
    return isinstance(token, str) and bool(TOKEN_RE.match(token))


def _json_size(value: Any) -> int:
    import json  # noqa: PLC0415 - only for the size check

    return len(json.dumps(value, separators=(",", ":"), allow_nan=False))


class StoreShares:
    """Mixed into `Store`, which supplies the writer and reader plumbing declared here."""

    _write: Callable[[Callable[[Tx], Any]], Any]
    _submit: Callable[[Callable[[Tx], Any]], Future[Any]]
    _read: Callable[[Callable[[Session], Any]], Any]

    def create_share(self, owner_hash: str, prediction_id: int, parts: Iterable[str], content: dict[str, Any],
                     picture: bytes | None = None) -> str:
        """A new share of `owner_hash`'s own prediction; returns its token (shown once, never stored).
        Raises NotFound when the prediction is not theirs (the same answer as for a missing one)."""
        owner = validate.sha256_hex(owner_hash, "owner hash")
        pid = validate.integer(prediction_id, "prediction id", 1, 2**63 - 1)
        names = [validate.optional_text(p, "share part", 32) for p in parts]
        if not names or any(not p for p in names):
            raise ValidationError("a share needs at least one named part")
        if not isinstance(content, dict):
            raise ValidationError("share content must be a JSON object")
        try:
            if _json_size(content) > MAX_SHARE_JSON:
                raise ValidationError("share content is too large")
        except (TypeError, ValueError):
            raise ValidationError("share content must be plain JSON (finite numbers)") from None
        if picture is not None:
            if not isinstance(picture, (bytes, bytearray)) or not picture:
                raise ValidationError("a shared picture must be non-empty bytes")
            if len(picture) > MAX_SHARE_PICTURE:
                raise ValidationError("the shared picture is too large")
            picture = bytes(picture)
        token = secrets.token_urlsafe(TOKEN_BYTES)

        def job(tx: Tx) -> None:
            row = tx.conn.execute(select(PREDICTIONS.c.client_hash).where(PREDICTIONS.c.id == pid)).first()
            if row is None or row.client_hash != owner:
                raise NotFound(f"no prediction {pid} for this visitor")
            tx.conn.execute(SHARES.insert(), {
                "token_hash": token_hash(token), "owner_hash": owner, "prediction_id": pid, "parts": names,
                "content": content, "picture": picture, "created_at": utcnow(), "revoked_at": None})

        self._write(job)
        return token

    def get_share(self, token: str) -> ShareOut | None:
        """The live share behind `token`; None when unknown, malformed or revoked (one answer for all)."""
        if not valid_share_token(token):
            return None
        h = token_hash(token)

        def q(s: Session) -> ShareOut | None:
            r = s.execute(select(Share).where(Share.token_hash == h, Share.revoked_at.is_(None))).scalar_one_or_none()
            if r is None:
                return None
            return ShareOut(r.prediction_id, tuple(r.parts or ()), dict(r.content or {}), r.picture, r.created_at)

        return self._read(q)

    def revoke_share(self, token: str, owner_hashes: Iterable[str]) -> bool:
        """Revoke a live share made by one of `owner_hashes`: its content and picture are wiped now.
        False when there is none such (unknown, already revoked, or someone else's: one answer)."""
        owners = [validate.sha256_hex(o, "owner hash") for o in owner_hashes]
        if not valid_share_token(token) or not owners:
            return False
        h = token_hash(token)

        def job(tx: Tx) -> bool:
            res = tx.conn.execute(update(SHARES).where(
                SHARES.c.token_hash == h, SHARES.c.owner_hash.in_(owners), SHARES.c.revoked_at.is_(None),
            ).values(revoked_at=utcnow(), content={}, picture=None, parts=[]))
            return res.rowcount == 1

        return bool(self._write(job))

    def count_shares(self, owner_hash: str, live_only: bool = True) -> int:
        """How many shares a visitor has (live ones only by default)."""
        owner = validate.sha256_hex(owner_hash, "owner hash")

        def q(s: Session) -> int:
            stmt = select(func.count()).select_from(Share).where(Share.owner_hash == owner)
            if live_only:
                stmt = stmt.where(Share.revoked_at.is_(None))
            return int(s.scalar(stmt) or 0)

        return self._read(q)
