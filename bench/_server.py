"""Start, reach and stop a real app.py on this machine's loopback, as the app benchmarks do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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


def start_app(app_args: list[str], home: Path, log_path: Path, timeout_s: float) -> tuple[subprocess.Popen, str]:
    """app.py with `app_args` on a free loopback port, its data in home/data and uploads in
    home/uploads, output to `log_path`; (process, url) once it answers. The caller's SPOT_ and
    GRADIO_ variables are dropped, so only `app_args` configure the app."""
    port = free_port()
    (home / "uploads").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOT_", "GRADIO_"))}
    env.update({"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
                "GRADIO_TEMP_DIR": str(home / "uploads"), "TOKENIZERS_PARALLELISM": "false"})  # fmt: skip
    cmd = [sys.executable, str(REPO / "app.py"), "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(home / "data"), *app_args]  # fmt: skip
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        if answers(url):
            return proc, url
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"app.py did not answer within {timeout_s} s:\n{log_path.read_text(errors='replace')[-3000:]}")


def stop_app(proc: subprocess.Popen, timeout_s: float = 30) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
