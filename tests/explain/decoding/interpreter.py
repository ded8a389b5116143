"""Running a check script under triton's CPU interpreter (TRITON_INTERPRET=1), for the tests of the
GPU plans' kernels: the script prints SAME when the triton plan gives the torch plan's results."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def has_triton() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


needs_triton = pytest.mark.skipif(not has_triton(), reason="triton is not installed (it comes with CUDA builds of torch)")


def assert_same_in_interpreter(script_text: str, checkpoint: Path, tmp_path: Path) -> None:
    script = tmp_path / "check.py"
    script.write_text(script_text)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=path)
    out = subprocess.run([sys.executable, str(script), str(checkpoint)], capture_output=True, text=True,
                         env=env, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "SAME" in out.stdout, out.stdout
