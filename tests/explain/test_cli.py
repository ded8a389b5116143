"""`python -m explain` on a mixed batch: good files, bad files, exit status, JSON shape."""

import json
import subprocess
import sys

from tests.conftest import ROOT, png_bytes


def _run(args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "explain", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_mixed_batch_json(tiny_checkpoint, tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(png_bytes(640, 360))
    disguised = tmp_path / "photo.jpg"  # PNG bytes under a .jpg name: format comes from the bytes
    disguised.write_bytes(png_bytes(300, 400, seed=1))
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    empty = tmp_path / "empty.webp"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.png"
    proc = _run(
        [str(p) for p in (good, text, disguised, empty, missing)]
        + ["--model", str(tiny_checkpoint), "--json", "--max-new-tokens", "12", "--device", "cpu"]
    )
    assert proc.returncode == 1, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["image"] for r in lines] == [str(p) for p in (good, text, disguised, empty, missing)]
    ok = [r for r in lines if "error" not in r]
    bad = [r for r in lines if "error" in r]
    assert len(ok) == 2 and len(bad) == 3
    for r in ok:
        assert set(r) >= {"image", "sha256", "verdict", "p_fake", "text", "phrases", "crop_box", "model", "timings"}
        assert r["model"] == tiny_checkpoint.name
        assert r["verdict"] in ("real", "fake", "undecided")
        for ph in r["phrases"]:
            assert r["text"][ph["char_start"] : ph["char_end"]] == ph["text"]
    assert ok[1]["format"] == "PNG"
    assert ok[0]["crop_box"] == [139, 0, 500, 360]  # 640x360 -> 597x336, crop from x=130 -> 139.3 px
    for r in bad:
        assert r["error"] and "Traceback" not in r["error"]
    assert "Traceback" not in proc.stderr


def test_maps_join_the_json_line(tiny_checkpoint, tmp_path):
    image = tmp_path / "landscape.png"
    image.write_bytes(png_bytes(640, 360))
    common = [str(image), "--model", str(tiny_checkpoint), "--json", "--max-new-tokens", "8", "--device", "cpu"]
    proc = _run([*common, "--maps", "occlusion", "--occlusion-grid", "12"])
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert len(record["maps"]) == len(record["phrases"]) > 0
    for m in record["maps"]:
        assert m["method"] == "occlusion" and (m["cells"], m["window"], m["baseline"]) == (12, 4, "grain")
        assert len(m["grid"]) == 24 and all(len(row) == 24 for row in m["grid"])
        assert m["crop_box"] == record["crop_box"] and m["reliance"] is not None
    refused = _run([*common, "--maps", "occlusion", "--occlusion-grid", "5"])
    assert refused.returncode == 2 and "--occlusion-grid" in refused.stderr


def test_readable_output_streams_text(tiny_checkpoint, tmp_path):
    good = tmp_path / "a.png"
    good.write_bytes(png_bytes())
    proc = _run([str(good), "--model", str(tiny_checkpoint), "--max-new-tokens", "8", "--no-provenance"])
    assert proc.returncode == 0, proc.stderr
    assert "verdict:" in proc.stdout and "tokens/s" in proc.stdout


def test_unreachable_model_exits_2_with_one_sentence(tmp_path):
    good = tmp_path / "a.png"
    good.write_bytes(png_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "explain", str(good), "--model", "nobody/nothing"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "--model toy" in proc.stderr


def test_refused_file_keeps_its_provenance(tmp_path):
    # Issue 17, finding 7: a file refused as too small lost the metadata that was read from it.
    import io as _io

    from explain.cli import build_parser, judge
    from explain.intake import IntakeLimits
    from tests.factories import provenance_samples as s

    tiny = tmp_path / "tiny.png"
    tiny.write_bytes(s.png_bytes((16, 16), text={"parameters": s.A1111_PARAMETERS}))
    out = _io.StringIO()
    args = build_parser().parse_args([str(tiny), "--json"])
    # Refused before any model is needed: no detector is passed.
    assert judge(None, str(tiny), args, IntakeLimits(), out) is False
    record = json.loads(out.getvalue())
    assert record["code"] == "too_small"
    [finding] = [f for f in record["provenance"]["findings"] if f["kind"] == "generator_metadata"]
    assert finding["details"]["tool"] == "Stable Diffusion WebUI"


def test_rule_from_flag_and_environment_is_echoed(tiny_checkpoint, tmp_path):
    """Issue 18: --rule (or SPOT_RULE) reaches the detector and the JSON says which rule was used."""
    import os

    good = tmp_path / "good.png"
    good.write_bytes(png_bytes(400, 400))
    common = [str(good), "--model", str(tiny_checkpoint), "--json", "--max-new-tokens", "4", "--device", "cpu"]
    flag = _run([*common, "--rule", "substring"])
    assert flag.returncode == 0, flag.stderr
    assert json.loads(flag.stdout)["rule"] == "substring"
    env = {**os.environ, "SPOT_RULE": "substring"}
    by_env = subprocess.run([sys.executable, "-m", "explain", *common], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env=env)
    assert json.loads(by_env.stdout)["rule"] == "substring", by_env.stderr
    assert json.loads(_run(common).stdout)["rule"] == "word"


def test_readable_output_shows_the_evidence_it_read(tiny_checkpoint, tmp_path):
    # Issue 19 ("Noise"): the plain-text output left out the evidence panel the JSON carried.
    from tests.factories import provenance_samples as s

    marked = tmp_path / "marked.png"
    marked.write_bytes(s.png_bytes((400, 400), text={"parameters": s.A1111_PARAMETERS}))
    proc = _run([str(marked), "--model", str(tiny_checkpoint), "--max-new-tokens", "4"])
    assert proc.returncode == 0, proc.stderr
    evidence = [line for line in proc.stdout.splitlines() if line.strip().startswith("evidence:")]
    assert evidence and any("Stable Diffusion WebUI" in line for line in evidence), proc.stdout


def test_toy_notice_is_printed_once():
    # Issue 19 ("Noise"): the loader's log warning and the CLI's note said the same thing twice.
    from tests.conftest import ROOT as root

    proc = _run([str(root / "assets" / "examples" / "toy-real-wide.png"), "--model", "auto",
                 "--max-new-tokens", "4", "--no-provenance"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("Serving the toy model because") == 1, proc.stderr
