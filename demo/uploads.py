"""The web server's door for uploads: an ASGI middleware in front of Gradio's `/gradio_api/upload`.

Gradio checks each file's size but not how many files one request carries, nor how much one visitor
sends: one request could add hundreds of MiB to the upload cache. This middleware refuses, before the
body is read, a request larger than `max_request_bytes` (or without a declared length), and an
address that has sent more than its budget in the last 10 minutes. Refusals are JSON sentences with
status 413 or 429. The address is the socket's, as the proxy-headers middleware resolved it.

It also notes which address uploaded which file (`UploadOwners`): Gradio's record of uploaded files
is global, so without this anyone who learned another visitor's upload path could have that picture
explained. Files Gradio cached itself (the examples) are nobody's and stay open to all.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from starlette.requests import cookie_parser

from .i18n import LANG_COOKIE, pick, tr
from .service.limits import ByteBudget

UPLOAD_PATH = "/gradio_api/upload"


class UploadOwners:
    """Which address uploaded each file of the upload cache (in memory, the newest 100,000 files)."""

    def __init__(self, max_files: int = 100_000) -> None:
        self.max_files = max_files
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, paths: list[str], address: str) -> None:
        with self._lock:
            for p in paths:
                self._owners[p] = address
                self._owners.move_to_end(p)
            while len(self._owners) > self.max_files:
                self._owners.popitem(last=False)

    def may_use(self, path: str, address: str | None) -> bool:
        """False only for a file that another address uploaded."""
        with self._lock:
            owner = self._owners.get(path)
        return owner is None or owner == address


def declared_length(headers: dict[bytes, bytes]) -> int:
    """The request's Content-Length, or -1 when it is missing or not a number (chunked or forged)."""
    try:
        return int(headers.get(b"content-length", b""))
    except ValueError:
        return -1


class UploadGuard:
    def __init__(self, app: Any, max_request_bytes: int, budget: ByteBudget, owners: UploadOwners) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.budget = budget
        self.owners = owners

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or not scope.get("path", "").endswith(UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = declared_length(headers)
        if length < 0:
            await _refuse(send, 411, _say(headers, "err_upload_length"))
            return
        if length > self.max_request_bytes:
            await _refuse(send, 413, _say(headers, "err_upload_request", mb=round(self.max_request_bytes / 2**20)))
            return
        client = scope.get("client") or ("?", 0)
        address = str(client[0])
        wait = self.budget.spend(address, length)
        if wait > 0:
            await _refuse(send, 429, _say(headers, "err_upload_budget", mb=round(self.budget.limit_bytes / 2**20),
                                           wait=int(wait) + 1))
            return
        await self.app(scope, receive, self._noting_owner(send, address))

    def _noting_owner(self, send: Any, address: str) -> Any:
        """`send`, reading the list of stored paths out of a successful upload's answer."""
        state = {"ok": False, "body": b""}

        async def wrapped(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["ok"] = message.get("status") == 200
            elif message["type"] == "http.response.body" and state["ok"]:
                state["body"] += message.get("body", b"")
                if not message.get("more_body"):
                    try:
                        paths = json.loads(state["body"])
                    except ValueError:
                        paths = []
                    if isinstance(paths, list):
                        self.owners.add([p for p in paths if isinstance(p, str)], address)
            await send(message)

        return wrapped


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _say(headers: dict[bytes, bytes], key: str, **values: Any) -> str:
    """A refusal in the visitor's language (the page's cookie, else Accept-Language), like the handlers'."""
    cookies = cookie_parser(headers.get(b"cookie", b"").decode("latin-1"))
    return tr(key, pick(cookies.get(LANG_COOKIE), headers.get(b"accept-language", b"").decode("latin-1")), **values)
