"""Per-visitor limits kept in memory: sliding-window rate limits and the request address they key.

Nothing here is stored: addresses are hashed in memory (demo/service/visitors.py) and only ever
used to key these counters.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

RATE_WINDOW_S = 600.0


class RateLimiter:
    """Sliding-window request counts per key, in memory only."""

    def __init__(self, limit: int, window_s: float = RATE_WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._hits.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def wait_s(self, key: str) -> float:
        """Seconds until `key` may go again (0 when it may now); does not count a hit."""
        with self._lock:
            now = self.clock()
            q = self._prune(key, now)
            return 0.0 if len(q) < self.limit else q[0] + self.window_s - now

    def hit(self, key: str) -> float:
        """Count a hit if allowed and return 0, else return the seconds to wait (nothing counted)."""
        with self._lock:
            now = self.clock()
            q = self._prune(key, now)
            if len(q) >= self.limit:
                return q[0] + self.window_s - now
            q.append(now)
            if len(self._hits) > 50_000:  # forget idle keys rather than grow without bound
                for k in [k for k, v in self._hits.items() if not v][:10_000]:
                    del self._hits[k]
            return 0.0


def request_address(request: Any) -> str | None:
    """The client's address of a web request (Gradio's, or anything with a `client`), used only to
    key an in-memory rate limit (never stored).

    It is the socket's peer as the web server resolved it: uvicorn's proxy-headers middleware reads
    `X-Forwarded-For` only when the peer is one of the trusted proxies (`--trusted-proxies`, handed to
    it as FORWARDED_ALLOW_IPS by app.py) and then takes the right-most hop that is not one of them.
    The header itself is never read here: any client can write it.
    """
    client = getattr(request, "client", None)
    host = getattr(client, "host", None)
    return host if isinstance(host, str) and host else None


class ByteBudget:
    """Bytes allowed per key in a sliding window (uploads per visitor address), in memory only."""

    def __init__(self, limit_bytes: int, window_s: float = RATE_WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.limit_bytes = limit_bytes
        self.window_s = window_s
        self.clock = clock
        self._spent: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def spend(self, key: str, n: int) -> float:
        """Spend `n` bytes if the budget allows and return 0, else return the seconds to wait."""
        with self._lock:
            now = self.clock()
            q = self._spent.setdefault(key, deque())
            while q and q[0][0] <= now - self.window_s:
                q.popleft()
            if sum(b for _, b in q) + n > self.limit_bytes:
                return (q[0][0] + self.window_s - now) if q else self.window_s
            q.append((now, n))
            if len(self._spent) > 50_000:  # forget idle keys rather than grow without bound
                for k in [k for k, v in self._spent.items() if not v][:10_000]:
                    del self._spent[k]
            return 0.0


class Admission:
    """Explanations admitted and not yet finished, checked when an upload is checked (before it waits).

    Gradio's own queue bound counts only part of what waits (events leave its count once they are
    dispatched to a worker that still waits for the model), so it let through far more than the
    configured size. This counts every explanation from the moment it is admitted until its stream
    ends; an entry whose stream never started (cancelled in the queue) is forgotten after `ttl_s`.
    """

    def __init__(self, capacity: int, ttl_s: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.ttl_s = ttl_s
        self.clock = clock
        self._admitted: dict[Any, float] = {}
        self._lock = threading.Lock()

    def admit(self, key: Any) -> bool:
        with self._lock:
            now = self.clock()
            for k in [k for k, t in self._admitted.items() if t <= now - self.ttl_s]:
                del self._admitted[k]
            if key not in self._admitted and len(self._admitted) >= self.capacity:
                return False
            self._admitted[key] = now
            return True

    def release(self, key: Any) -> None:
        with self._lock:
            self._admitted.pop(key, None)

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._admitted)
