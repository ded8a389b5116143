"""`python -m explain.provenance`: evidence for any file, no model, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT
from tests.factories import provenance_samples as s


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explain.provenance", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=env)  # fmt: skip


def test_batch_json_covers_refused_odd_and_missing_files(tmp_path):
    identity = s.signing_identity("CLI Signer", "CLI Org")
    files = {
        "tiny.png": s.png_bytes((8, 8), text={"parameters": s.A1111_PARAMETERS}),  # model refuses
        "comfy.webp": s.webp_bytes(exif=s.comfyui_webp_exif()),
        "signed.jpg": s.sign_c2pa(s.jpeg_bytes(), "image/jpeg", identity=identity),
        "notes.txt": b"not a picture",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    anchors = tmp_path / "anchors.pem"
    anchors.write_text(identity.root_pem)
    paths = [str(tmp_path / n) for n in files] + [str(tmp_path / "missing.png")]
    proc = run(*paths, "--json", "--c2pa-trust", str(anchors))
    assert proc.returncode == 1, proc.stderr  # the missing file
    assert "Traceback" not in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["file"] for r in rows] == paths
    tools = {r["file"].rsplit("/", 1)[-1]: [f["details"].get("tool") for f in r["findings"]
                                            if f["kind"] == "generator_metadata"] for r in rows[:2]}  # fmt: skip
    assert tools == {"tiny.png": ["Stable Diffusion WebUI"], "comfy.webp": ["ComfyUI"]}
    [c2pa] = [f for f in rows[2]["findings"] if f["kind"] == "c2pa"]
    assert c2pa["details"]["status"] == "trusted"
    assert rows[3]["file_format"] == "unknown" and rows[3]["findings"] == []
    assert "error" in rows[4]
    assert "torch" not in proc.stderr


def test_readable_output_and_unusable_trust(tmp_path):
    f = tmp_path / "cam.jpg"
    f.write_bytes(s.jpeg_bytes(exif=s.camera_exif()))
    proc = run(str(f))
    assert proc.returncode == 0, proc.stderr
    assert "Camera information: Canon EOS R5" in proc.stdout
    bad = tmp_path / "bad.pem"
    bad.write_text("nope")
    proc = run(str(f), "--c2pa-trust", str(bad))
    assert proc.returncode == 2 and "no PEM certificate" in proc.stderr
