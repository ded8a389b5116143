"""The web server's door for uploads: an ASGI middleware in front of Gradio's `/gradio_api/upload`.

Gradio checks each file's size but not how many files one request carries, nor how much one visitor
sends: one request could add hundreds of MiB to the upload cache. This middleware refuses, before the
body is read, a request larger than `max_request_bytes` (or without a declared length), and an
address that has sent more than its budget in the last 10 minutes. Refusals are JSON sentences with
status 413 or 429. The address is the socket's, as the proxy-headers middleware resolved it.
"""

from __future__ import annotations

import json
from typing import Any

from .i18n import t
from .service.limits import ByteBudget

UPLOAD_PATH = "/gradio_api/upload"


class UploadGuard:
    def __init__(self, app: Any, max_request_bytes: int, budget: ByteBudget) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.budget = budget

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or not scope.get("path", "").endswith(UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        try:
            length = int(headers.get(b"content-length", b""))
        except ValueError:
            length = -1
        if length < 0:
            await _refuse(send, 411, t("err_upload_length"))
            return
        if length > self.max_request_bytes:
            await _refuse(send, 413, t("err_upload_request", mb=round(self.max_request_bytes / 2**20)))
            return
        client = scope.get("client") or ("?", 0)
        wait = self.budget.spend(str(client[0]), length)
        if wait > 0:
            await _refuse(send, 429, t("err_upload_budget", mb=round(self.budget.limit_bytes / 2**20),
                                       wait=int(wait) + 1))
            return
        await self.app(scope, receive, send)


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
