"""Fixtures for the classroom tests: a real store (SQLite file, or PostgreSQL when configured), the
real detector (the shipped toy model, or the tiny random checkpoint while the toy model is not in
the tree), the app's real AppState and the Classroom service on top.

SPOT_TEST_MODEL overrides the model (a folder or "toy").
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = b"classroom-test-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def classroom_model(request) -> str:
    """The model the classroom tests run: SPOT_TEST_MODEL, else the toy model when shipped, else the
    suite's tiny random checkpoint in FakeVLM's layout (plumbing only: its words mean nothing)."""
    from explain.model import TOY_MODEL_DIR

    if os.environ.get("SPOT_TEST_MODEL"):
        return os.environ["SPOT_TEST_MODEL"]
    if (TOY_MODEL_DIR / "config.json").is_file():
        return "toy"
    return str(request.getfixturevalue("tiny_checkpoint"))


@pytest.fixture(scope="session")
def detector(classroom_model):
    from explain.model import load_detector

    return load_detector(classroom_model, device="cpu")


def png_bytes(width: int = 400, height: int = 300, seed: int = 0) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype="uint8")).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL with a fresh schema (skipped unless SPOT_TEST_PG_URL is set, as in
    tests/storage/conftest.py; SPOT_REQUIRE_PG=1 turns the skip into a failure)."""
    from tests.storage.storage_helpers import fresh_pg_schema

    base = os.environ.get("SPOT_TEST_PG_URL")
    if not base and os.environ.get("SPOT_REQUIRE_PG") == "1":
        pytest.fail("SPOT_REQUIRE_PG=1 but SPOT_TEST_PG_URL is not set")
    if not base:
        pytest.skip("PostgreSQL not configured: set SPOT_TEST_PG_URL (eval \"$(bash .ci/postgres.sh)\")")
    with fresh_pg_schema(base) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'spot.sqlite3'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url, tmp_path):
    from storage import Store

    s = Store.open(db_url, tmp_path / "data", secret=SECRET, orphan_grace_s=0)
    yield s
    s.close()


@pytest.fixture
def cstore(store):
    from storage.classroom import ClassroomStore

    return ClassroomStore(store)


@pytest.fixture
def app(detector, tmp_path):
    """The app's real state on a SQLite store (the model side does not depend on the backend)."""
    from demo.service import AppState
    from demo.service.config import parse_config
    from storage import Store

    config = parse_config(["--data-dir", str(tmp_path / "appdata"), "--rate-limit", "1000",
                           "--max-new-tokens", "32"], environ={})
    store = Store.open(config.db_url, config.data_dir, secret=SECRET)
    state = AppState(detector, store, config)
    yield state
    state.close()
    store.close()


@pytest.fixture
def svc(app):
    from demo.service.classroom import Classroom

    s = Classroom(app)
    yield s
    s.close()


# --------------------------------------------------------------------------- a real server


class ClassroomServer:
    """`python app.py` (the app with its classroom page) in a subprocess, restartable on
    the same port and data folder."""

    def __init__(self, tmp: Path, model: str) -> None:
        from ..conftest import free_port

        self.tmp = tmp
        self.model = model
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.data_dir = tmp / "data"
        self.db_path = self.data_dir / "spot.sqlite3"
        self.log_path = tmp / "server.log"
        self.proc = None

    def start(self, timeout_s: float = 180.0) -> None:
        import subprocess
        import time
        import urllib.request

        upload_dir = self.tmp / "gradio-uploads"
        upload_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOT_", "GRADIO_"))}
        env.update({"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(upload_dir),
                    "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"})
        cmd = [sys.executable, str(ROOT / "app.py"), "--model", self.model, "--device", "cpu", "--host",
               "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data_dir), "--rate-limit", "1000",
               "--max-new-tokens", "64", "--concurrency", "2"]
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                with urllib.request.urlopen(self.url + "gradio_api/info", timeout=10) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the app did not answer within {timeout_s} s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        from ..conftest import stop_process

        if self.proc is None:
            return
        stop_process(self.proc, grace_s=30)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def classroom_server(tmp_path, classroom_model):
    server = ClassroomServer(tmp_path, classroom_model)
    server.start()
    yield server
    server.stop()
