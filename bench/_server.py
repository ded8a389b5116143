"""What the app benchmarks need to start and reach a real app.py on this machine's loopback."""

from __future__ import annotations

import socket
import urllib.request


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    """Whether the Gradio app at `url` (ending in /) answers its info endpoint."""
    try:
        with urllib.request.urlopen(url + "gradio_api/info", timeout=10) as r:  # noqa: S310 - loopback
            return r.status == 200
    except OSError:
        return False
