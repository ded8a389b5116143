"""The MCP endpoint with a real MCP client (the `mcp` package, streamable HTTP) against a real app
server started with `--mcp`: exactly two tools, both answering on the shipped examples as the page
and the evidence reader do, clear errors for bad input, and the page's limits for tool callers."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import httpx
import pytest

from .conftest import EXAMPLES, start_server, stop_server

pytest.importorskip("mcp")

RATE = 2  # explanations / evidence reads per visitor per 10 minutes; four visitors' worth per address


@pytest.fixture(scope="module")
def mcp_server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("spot-mcp"), "--mcp", "--rate-limit", str(RATE))
    yield s
    stop_server(s)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


async def _session(url: str, work):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url + "gradio_api/mcp/") as (read, write, _), ClientSession(read, write) as s:
        await s.initialize()
        return await work(s)


def mcp(url: str, work):
    return asyncio.run(_session(url, work))


def _text(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def _json(result) -> dict:
    assert not result.isError, _text(result)
    return json.loads(_text(result))


def test_exactly_the_two_tools_are_listed(mcp_server):
    tools = mcp(mcp_server.url, lambda s: s.list_tools()).tools
    assert sorted(t.name for t in tools) == ["explain_image", "read_evidence"]
    for tool in tools:
        assert list(tool.inputSchema["properties"]) == ["image"]
        assert "base64" in tool.inputSchema["properties"]["image"]["description"]
        assert len(tool.description) > 100  # the docstring, for the assistant to read
    # the page's public endpoints (and the classroom's) stay off the tool list and cannot be called
    for name in ("explain", "attribute", "feedback", "on_load"):
        result = mcp(mcp_server.url, lambda s, n=name: s.call_tool(n, {"image": "x"}))
        assert result.isError and "Unknown tool" in _text(result)
    assert mcp_server.alive()


def test_explain_image_answers_as_the_page_does(mcp_server):
    from gradio_client import Client, handle_file

    example = EXAMPLES / "toy-fake-two-artifacts.png"
    got = _json(mcp(mcp_server.url, lambda s: s.call_tool("explain_image", {"image": _data_uri(example)})))
    client = Client(mcp_server.url, verbose=False, download_files=False)
    details = client.predict(handle_file(str(example)), api_name="/explain")[7]  # the page's /explain
    assert got["verdict"] == details["verdict"] and got["verdict"] in ("real", "fake", "undecided")
    assert got["explanation"] == details["text"] and got["explanation"]
    assert got["phrases"] == details["phrases"] and got["phrases"]
    assert got["p_fake"] == pytest.approx(details["p_fake"])
    assert got["crop_box"] == details["crop_box"] and got["model"] == details["model"]


def test_read_evidence_reports_the_file_findings(mcp_server):
    from explain.provenance import read_provenance

    example = EXAMPLES / "toy-fake-with-generator-settings.png"
    bare = base64.b64encode(example.read_bytes()).decode()  # plain base64 works as well as a data URI
    got = _json(mcp(mcp_server.url, lambda s: s.call_tool("read_evidence", {"image": bare})))
    expected = read_provenance(example.read_bytes()).to_json()
    assert got["findings"] == json.loads(json.dumps(expected["findings"]))
    assert any(f["points_to"] == "ai" and f["kind"] == "generator_metadata" for f in got["findings"])
    assert got["format"] == "PNG" and got["width"] > 0


def test_a_file_uploaded_to_the_app_is_read_by_its_url_and_nothing_else_is(mcp_server):
    example = EXAMPLES / "toy-fake-with-generator-settings.png"
    with example.open("rb") as f:
        r = httpx.post(mcp_server.url + "gradio_api/upload", files={"files": (example.name, f, "image/png")})
    r.raise_for_status()
    url = f"{mcp_server.url}gradio_api/file={r.json()[0]}"
    got = _json(mcp(mcp_server.url, lambda s: s.call_tool("read_evidence", {"image": url})))
    assert any(f["points_to"] == "ai" and f["kind"] == "generator_metadata" for f in got["findings"])
    for elsewhere in ("https://example.com/cat.png", f"{mcp_server.url}gradio_api/file=/etc/passwd",
                      "http://169.254.169.254/latest/meta-data/"):
        result = mcp(mcp_server.url, lambda s, u=elsewhere: s.call_tool("read_evidence", {"image": u}))
        assert result.isError and "does not fetch pictures from the web" in _text(result)


@pytest.mark.parametrize("image, words", [
    ("", "data URI"),
    ("this is not base64 !!", "not valid base64"),
    (base64.b64encode(b"GIF89a but not really a picture").decode(), "incomplete"),
    ("data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode(), "picture"),
])
def test_bad_input_gets_a_sentence_not_a_crash(mcp_server, image, words):
    for tool in ("explain_image", "read_evidence"):
        result = mcp(mcp_server.url, lambda s, t=tool: s.call_tool(t, {"image": image}))
        assert result.isError, _text(result)
        text = _text(result)
        assert words in text and "Traceback" not in text and "/tmp" not in text, text
    assert mcp_server.alive()


def test_a_body_larger_than_a_picture_is_refused_before_it_is_read(mcp_server):
    too_big = int(mcp_server.max_upload_mb * 2**20 * 4 / 3) + 200 * 1024
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "read_evidence", ' \
           b'"arguments": {"image": "' + b"A" * too_big + b'"}}}'
    r = httpx.post(mcp_server.url + "gradio_api/mcp/", content=body, timeout=30,
                   headers={"content-type": "application/json", "accept": "application/json, text/event-stream"})
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    # the tools' own REST route is guarded the same way
    r = httpx.post(mcp_server.url + "gradio_api/call/read_evidence", content=body, timeout=30,
                   headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert mcp_server.alive()


def test_tool_callers_get_the_page_limits(mcp_server):
    """Every call is a new pseudonym, but the address keeps its limit (four visitors' worth)."""
    example = EXAMPLES / "toy-real-wide.png"
    image = _data_uri(example)

    async def until_refused(s):
        for n in range(1, 4 * RATE + 3):
            result = await s.call_tool("read_evidence", {"image": image})
            if result.isError:
                return n, _text(result)
        return None, ""

    n, text = mcp(mcp_server.url, until_refused)
    assert n is not None and n <= 4 * RATE + 1, "the address's limit was not applied"
    assert "per 10 minutes" in text or "wait" in text.lower(), text


def test_off_unless_asked_for_whatever_gradio_s_own_variable_says(monkeypatch):
    from demo.service.config import parse_config
    from demo.ui import launch_options

    monkeypatch.setenv("GRADIO_MCP_SERVER", "true")  # Gradio's switch would make every endpoint a tool
    opts = launch_options(parse_config([], {}))
    assert opts["mcp_server"] is False and "lifespan" not in opts["app_kwargs"]
    opts = launch_options(parse_config(["--mcp"], {}))
    assert opts["mcp_server"] is True and opts["app_kwargs"]["lifespan"].__name__ == "only_our_tools"
