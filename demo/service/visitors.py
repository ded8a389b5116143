"""Who is asking: pseudonymous visitors and reviewers, without accounts.

A browser holds a random token (localStorage); the store keeps only a keyed hash of it. API clients
without a token are known by their Gradio session. A request address is hashed with a per-process
salt, in memory only, for the coarse per-address rate limit; it is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]{16,128}$")


@dataclass(frozen=True)
class Visitor:
    """Who is asking: a pseudonymous, stored id and an in-memory-only key for their address.

    `aliases` are other ids the same page may have used: a picture uploaded before the browser's
    token arrived is owned by the page's session id, and stays the visitor's.
    """

    client_hash: str
    address_key: str | None = None
    aliases: tuple[str, ...] = ()

    def owns(self, owner: str) -> bool:
        return any(hmac.compare_digest(owner, h) for h in (self.client_hash, *self.aliases))


@dataclass(frozen=True)
class Reviewer:
    name: str
    via: str  # "token" | "huggingface"



def new_visitor_token() -> str:
    return secrets.token_urlsafe(24)


def valid_token(token: Any) -> bool:
    return isinstance(token, str) and bool(_TOKEN_RE.match(token))


class Pseudonyms:
    """Turns a browser token, a session id and an address into a `Visitor`."""

    def __init__(self, client_hash: Callable[[str], str]) -> None:
        self.client_hash = client_hash  # the store's keyed hash
        self._address_salt = secrets.token_bytes(16)  # per process: address keys die with it

    def visitor(self, token: Any, session_hash: str | None, address: str | None = None) -> Visitor:
        """The visitor's pseudonym: from their browser token, else (API clients) their session."""
        aliases: tuple[str, ...] = ()
        if valid_token(token):
            raw = f"browser:{token}"
            if session_hash:
                aliases = (self.client_hash(f"session:{session_hash}"),)
        elif session_hash:
            raw = f"session:{session_hash}"
        else:
            raw = f"anonymous:{secrets.token_hex(16)}"  # no continuity possible; still private
        key = None
        if address:
            key = hmac.new(self._address_salt, address.encode(), hashlib.sha256).hexdigest()
        return Visitor(self.client_hash(raw), key, aliases)
