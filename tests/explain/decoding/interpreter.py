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


# The start of every check script: the checkpoint given as argv[1], its layout and fused weights.
FUSED_TINY_MODEL = """
import sys, torch
from explain.decoding.layout import fuse_weights, layout_of
from explain.model import load_detector
det = load_detector(sys.argv[1], device="cpu")
lay = layout_of(det.model)
fused = {}
for i, layer in enumerate(lay.layers):
    fused[("qkv", i)] = fuse_weights([layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj])
    fused[("gate_up", i)] = fuse_weights([layer.mlp.gate_proj, layer.mlp.up_proj])
"""


def assert_same_in_interpreter(script_text: str, checkpoint: Path, tmp_path: Path) -> None:
    script = tmp_path / "check.py"
    script.write_text(script_text)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=path)
    out = subprocess.run([sys.executable, str(script), str(checkpoint)], capture_output=True, text=True,
                         env=env, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "SAME" in out.stdout, out.stdout
