"""Issue 18: `python -m explain.selfcheck` on real (tiny and toy) checkpoints: passes where the app
feeds the model as the paper's evaluation did, and fails, naming the check, where it does not."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from explain.model import load_detector
from explain.selfcheck import example_pictures, run_selfcheck
from tests.conftest import ROOT


def test_toy_model_passes_every_check_from_the_command_line():
    proc = subprocess.run([sys.executable, "-m", "explain.selfcheck", "--model", "toy", "--device", "cpu",
                           "--max-new-tokens", "24", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] and report["model_id"] == "toy-fakevlm"
    names = {(c["name"], c["picture"]) for c in report["checks"]}
    assert names == {(n, p.name) for n in ("image_tokens", "evaluation_inputs", "decoder", "verdict")
                     for p in example_pictures()}
    assert all(c["ok"] for c in report["checks"])
    assert report["timings"]["load s"] > 0 and any(k.startswith("generate ") for k in report["timings"])


def test_fast_decoder_is_checked_against_generate_on_a_tiny_checkpoint(tiny_checkpoint):
    detector = load_detector(str(tiny_checkpoint), device="cpu", decoder="static", rule="substring")
    report = run_selfcheck(detector, pictures=example_pictures()[:1], max_new_tokens=12)
    assert (report.decoder, report.rule) == ("static", "substring")
    assert report.ok, report.text()
    [tokens] = [c for c in report.checks if c.name == "image_tokens"]
    assert tokens.detail.startswith("576 image tokens")


def test_a_processor_that_differs_from_the_evaluations_fails(tiny_checkpoint, tmp_path):
    """A checkpoint whose preprocessor resizes bilinearly: tokens match, pixels do not -> exit 1."""
    folder = tmp_path / "bilinear"
    shutil.copytree(tiny_checkpoint, folder)
    cfg_file = folder / "preprocessor_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["resample"] = 2  # bilinear instead of the evaluation's bicubic
    cfg_file.write_text(json.dumps(cfg))
    proc = subprocess.run([sys.executable, "-m", "explain.selfcheck", "--model", str(folder), "--device", "cpu",
                           "--max-new-tokens", "4", "--pictures", str(example_pictures()[0])],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL evaluation_inputs" in proc.stdout and "pixel_values differ" in proc.stdout
    assert "FAILED: evaluation_inputs" in proc.stdout.splitlines()[-1]


def test_startup_selfcheck_logs_its_report(tiny_detector, caplog):
    """What app.py runs on a Space: the report lands in the log, and a failure never raises."""
    import logging

    from explain.selfcheck import startup_selfcheck

    with caplog.at_level(logging.INFO, logger="explain.selfcheck"):
        report = startup_selfcheck(tiny_detector, pictures=example_pictures()[:1], max_new_tokens=4)
    assert report is not None and report.ok
    assert "PASSED" in caplog.text and "evaluation_inputs" in caplog.text
    assert startup_selfcheck(tiny_detector, pictures=["/nonexistent.png"]) is None  # logged, not raised
