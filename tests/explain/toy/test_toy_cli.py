"""`python -m explain.toy`: sample writes images with their ground truth; eval refuses training seeds."""

from __future__ import annotations

import json

from PIL import Image

from explain.toy.__main__ import main


def test_sample_writes_images_and_ground_truth(tmp_path, capsys):
    assert main(["sample", "--seed", "7", "--n", "3", "--out", str(tmp_path)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 3
    for r in records:
        with Image.open(tmp_path / r["image"]) as im:
            assert im.size == (r["width"], r["height"])
        assert r["explanation"].startswith(f"This is a {r['label']} image.")
        assert (r["label"] == "fake") == bool(r["artifacts"])


def test_eval_refuses_a_training_seed(capsys):
    assert main(["eval", "--seed", "0", "--n", "2", "--json"]) == 2
    assert "training seed" in capsys.readouterr().err


def test_eval_refuses_an_unknown_map_method(capsys):
    assert main(["eval", "--seed", "5", "--n", "2", "--maps", "magic"]) == 2
    assert "unknown map method" in capsys.readouterr().err
