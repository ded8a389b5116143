"""The MCP endpoint: two tools for AI assistants, `explain_image` and `read_evidence`, served by
Gradio's MCP server at /gradio_api/mcp/ (streamable HTTP; SSE at /gradio_api/mcp/sse) when
`--mcp` is on.

    add_mcp_tools(demo, app, owners)      # inside build_demo, before launch
    demo.launch(mcp_server=True, app_kwargs={"lifespan": only_our_tools, "middleware": [...McpGuard]})

Gradio turns every public API endpoint into a tool; the page's /explain, /attribute and /feedback
must stay public for gradio_client but are no tools, so `only_our_tools` cuts Gradio's tool table
down to ours before the server takes its first request (a call to any other name is refused as an
unknown tool). `McpGuard` refuses request bodies larger than a picture could need before they are
read, since a picture travels inside the JSON as base64. The verbs are demo/service/tools.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import gradio as gr

from .i18n import t
from .service import AppState, UserError, request_address
from .service.tools import Tools, decode_picture, max_text_chars
from .uploads import UploadOwners, declared_length

log = logging.getLogger(__name__)

TOOL_ENDPOINTS = ("/explain_image", "/read_evidence")
MCP_PATH = "/gradio_api/mcp"


class ToolError(gr.Error):
    """A sentence for the caller: Gradio's MCP bridge shows str(error), which gr.Error quotes."""

    def __str__(self) -> str:
        return str(self.message)


def add_mcp_tools(app: AppState, upload_dir: str, owners: UploadOwners | None = None) -> Tools:
    """Add the two tool endpoints to the Blocks being built (call inside its `with` block)."""
    tools = Tools(app)
    uploads = Path(upload_dir).resolve()
    owners = owners or UploadOwners()

    def picture(image: Any, request: Any) -> bytes:
        """The picture's bytes: base64 / data: URI, or a file this caller uploaded to this app."""
        if isinstance(image, str) and image.strip().startswith(("http://", "https://")):
            return _uploaded_file(image.strip(), uploads, owners, request_address(request), tools.max_bytes)
        return decode_picture(image, tools.max_bytes)

    def visitor(request: Any):
        # no browser token and no Gradio session: a fresh pseudonym per call, the address's limits
        return app.visitor(None, None, request_address(request))

    def explain_image(image: str, request: gr.Request) -> str:
        """Ask FakeVLM whether a picture is a real photo or AI-generated, and why.

        Returns a JSON object: the verdict ("real", "fake" or "undecided"), p_fake (the model's probability that
        the picture is AI-generated, 0 to 1), uncertain (true when p_fake is near 0.5), the
        explanation in the model's words, its phrases (each names one clue), the model's name, the
        picture's size and crop_box (FakeVLM sees only the centre square of the picture). A model
        can be wrong: treat the answer as one piece of evidence.

        Args:
            image: The picture (PNG, JPEG, WebP, ...), as a data URI ("data:image/png;base64,...") or plain base64; or the http(s) URL that this app's upload gave for a file you uploaded to it (e.g. with the upload_file_to_gradio tool).
        """
        return _run(lambda: tools.explain(picture(image, request), visitor(request)))

    def read_evidence(image: str, request: gr.Request) -> str:
        """Read what a picture file's own data says about where it came from, without the model:
        Content Credentials (C2PA) and whether their signature checks out, camera EXIF, XMP edit
        history, and generator settings that AI tools write into files.

        Returns a JSON object: the format, size and sha256 of the file, and findings (strongest first), each with
        kind, strength, points_to ("ai", "camera", "processed" or "none"), title, meaning and
        details; plus errors for anything that could not be read. Metadata is easy to strip or
        forge: no finding proves a picture is real.

        Args:
            image: The picture file, as a data URI ("data:image/jpeg;base64,...") or plain base64; or the http(s) URL that this app's upload gave for a file you uploaded to it (e.g. with the upload_file_to_gradio tool).
        """
        return _run(lambda: tools.evidence(picture(image, request), visitor(request)))

    # outside the queue: the handler then sees the caller's own address (the queued route reaches
    # the handler through Gradio's loopback client, as 127.0.0.1 for every caller); Tools.slots
    # bounds the model instead of the queue
    gr.api(explain_image, api_name="explain_image", queue=False)
    gr.api(read_evidence, api_name="read_evidence", queue=False)
    return tools


def _run(call) -> str:
    """The tool's answer as JSON text (Gradio's MCP bridge would send a dict as Python's repr)."""
    try:
        return json.dumps(call(), ensure_ascii=False)
    except UserError as exc:
        raise ToolError(str(exc), print_exception=False) from None
    except Exception:  # noqa: BLE001 - a tool answers with a sentence, never a traceback or a path
        log.exception("MCP tool failure")
        raise ToolError(t("mcp_err_internal"), print_exception=False) from None


def _uploaded_file(url: str, uploads: Path, owners: UploadOwners, address: str | None, max_bytes: int) -> bytes:
    """The bytes behind a /gradio_api/file=PATH URL of this app, only for a file in the upload folder
    that this address uploaded: nothing is fetched from the network."""
    path = unquote(urlparse(url).path)
    marker = "/gradio_api/file="
    if marker not in path:
        raise UserError(t("mcp_err_url"))
    raw = path.split(marker, 1)[1]
    resolved = Path(raw).resolve()
    if (not resolved.is_relative_to(uploads) or not resolved.is_file()
            or not owners.may_use(raw, address) or not owners.may_use(str(resolved), address)):
        raise UserError(t("mcp_err_url"))
    if resolved.stat().st_size > max_bytes:
        raise UserError(t("mcp_err_too_big", mb=round(max_bytes / 2**20, 1)))
    return resolved.read_bytes()


@contextlib.asynccontextmanager
async def only_our_tools(app: Any) -> AsyncIterator[None]:
    """Lifespan hook: leave Gradio's MCP server with exactly the two tools (runs before the first
    request is served)."""
    server = getattr(app.get_blocks(), "mcp_server_obj", None)
    if server is not None:
        table = server.tool_to_endpoint
        for name in [n for n, endpoint in table.items() if endpoint not in TOOL_ENDPOINTS]:
            del table[name]
    yield


class McpGuard:
    """Refuses, before reading it, a POST to the MCP endpoint or the tools' own routes larger than
    a picture in base64 needs (or without a declared length)."""

    def __init__(self, app: Any, max_upload_bytes: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes
        self.max_body = max_text_chars(max_upload_bytes) + 64 * 1024

    @staticmethod
    def _guarded(path: str) -> bool:
        # the MCP transport, the tools' REST routes (/run/, /call/), and the queue, which could be
        # handed the same base64 text
        path = path.rstrip("/")
        return MCP_PATH in path or path.endswith("/queue/join") or any(path.endswith(e) for e in TOOL_ENDPOINTS)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or not self._guarded(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = declared_length(headers)
        if length < 0 or length > self.max_body:
            status = 411 if length < 0 else 413
            message = t("err_upload_length") if length < 0 else t("mcp_err_too_big",
                                                                  mb=round(self.max_upload_bytes / 2**20, 1))
            body = json.dumps({"detail": message}).encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
