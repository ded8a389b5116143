"""A real app server for the demo tests: `python app.py --model toy` on a free port, in a subprocess,
with its own data folder, SQLite file and Gradio upload folder. One server per test session;
tests that break it would show in every later test, which is the point of sharing it.

SPOT_TEST_MODEL overrides the model (e.g. a tiny random checkpoint folder while debugging).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "assets" / "examples"


@dataclass
class Server:
    url: str
    data_dir: Path
    db_path: Path
    upload_dir: Path
    log_path: Path
    proc: subprocess.Popen
    max_upload_mb: float
    model: str

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(self.url + "gradio_api/info", timeout=10) as r:  # noqa: S310 - loopback
                return r.status == 200
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, *extra: str, env_extra: dict[str, str] | None = None,
                 timeout_s: float = 180.0) -> Server:
    port = free_port()
    data_dir = tmp / "data"
    upload_dir = tmp / "gradio-uploads"
    upload_dir.mkdir(parents=True, exist_ok=True)
    log_path = tmp / "server.log"
    model = os.environ.get("SPOT_TEST_MODEL", "toy")
    max_mb = 2.0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOT_", "GRADIO_"))}
    env.update({
        "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(upload_dir),
        "SPOT_ADMIN_TOKEN": "test-reviewer-token-0123456789", "PYTHONUNBUFFERED": "1",
        "TOKENIZERS_PARALLELISM": "false",
    })
    env.update(env_extra or {})
    cmd = [sys.executable, str(ROOT / "app.py"), "--model", model, "--device", "cpu", "--host", "127.0.0.1",
           "--port", str(port), "--data-dir", str(data_dir), "--max-upload-mb", str(max_mb),
           "--rate-limit", "1000", "--max-new-tokens", "96", "--concurrency", "2", *extra]
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}/", data_dir, data_dir / "spot.sqlite3", upload_dir, log_path, proc,
                    max_mb, model)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{server.log()[-4000:]}")
        if server.alive():
            return server
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"app.py did not answer within {timeout_s} s:\n{server.log()[-4000:]}")


def stop_process(proc: subprocess.Popen, grace_s: float = 20) -> None:
    """Ask a server process to stop; kill it if it has not within `grace_s` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def stop_server(server: Server) -> None:
    stop_process(server.proc)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    s = start_server(tmp_path_factory.mktemp("spot-app"))
    yield s
    stop_server(s)


@pytest.fixture()
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False, download_files=False)


@pytest.fixture(scope="session")
def example_image() -> Path:
    files = sorted(EXAMPLES.glob("*.png"))
    assert files, "assets/examples/ has no example pictures"
    return next((f for f in files if "two-artifacts" in f.name), files[0])


def png_file(path: Path, width: int = 420, height: int = 360, seed: int = 0) -> Path:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype="uint8")).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path
