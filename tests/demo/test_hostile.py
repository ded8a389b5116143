"""Hostile uploads get a clear sentence, never a crash, and the server keeps answering."""

from __future__ import annotations

import io
import json
import struct
import zlib

import httpx
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from .conftest import png_file


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG whose header claims 10 gigapixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _png(w: int = 400, h: int = 300) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (90, 140, 200)).save(buf, "PNG")
    return buf.getvalue()


CASES = {
    "empty.png": (b"", "empty"),
    "notes.png": (b"This is not a picture, just some words.\n" * 20, "plain text"),
    "page.jpg": (b"<!doctype html><html><body><script>alert(1)</script></body></html>", "web page"),
    "drawing.png": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', "SVG"),
    "bomb.png": (bomb_png(), "megapixels|enormous"),
    "truncated.png": (_png()[:300], "incomplete|damaged"),
    "tiny.png": (_png(8, 8), "at least"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_upload_gets_a_clear_message(server, client, tmp_path, name):
    data, expected = CASES[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(path)), api_name="/explain")
    message = str(info.value)
    assert any(word.lower() in message.lower() for word in expected.split("|")), message
    assert "Traceback" not in message
    assert server.alive()


def test_too_large_upload_is_refused_before_the_model(server, client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(_png() + b"\0" * int(server.max_upload_mb * 1024 * 1024 + 1024))
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(big)), api_name="/explain")
    assert "maximum file size" in str(info.value).lower()  # the client checks the server's limit first
    # and the server enforces it for clients that do not check
    r = httpx.post(server.url + "gradio_api/upload", files={"files": ("big.png", big.read_bytes(), "image/png")},
                   timeout=60)
    assert r.status_code == 413, r.text[:300]
    assert server.alive()


def test_paths_outside_the_upload_folder_are_refused(server):
    """A hand-made request naming a server file as the 'upload' gets nothing from it."""
    config = httpx.get(server.url + "config", timeout=30).json()
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "explain")
    for path in ("/etc/passwd", str(server.data_dir / "secret.key")):
        payload = {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, None], "fn_index": fn_index,
                   "session_hash": "hostile-test", "event_data": None, "trigger_id": None}
        r = httpx.post(server.url + "gradio_api/queue/join", json=payload, timeout=30)
        body = r.text
        assert r.status_code != 200 or "event_id" not in json.loads(body), body
        assert "root:" not in body and "secret" not in body.lower().replace("secret.key", "")
    assert server.alive()


def test_server_still_explains_after_the_abuse(server, tmp_path):
    c = Client(server.url, verbose=False, download_files=False)
    out = c.predict(handle_file(str(png_file(tmp_path / "fine.png", seed=3))), api_name="/explain")
    assert out[7]["stage"] == "done"
    assert "Traceback" not in server.log(), "every refusal was a message, not a crash"


def test_the_console_names_both_pages(server):
    """Issue 19 (noise): the /classroom address was never printed."""
    port = server.url.rstrip("/").rsplit(":", 1)[1]
    assert f"http://127.0.0.1:{port}/classroom" in server.log()
