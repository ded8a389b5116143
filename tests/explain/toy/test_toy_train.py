"""The training script runs end to end (a few steps on CPU) and writes a loadable llava-hf folder."""

from __future__ import annotations

import json

from explain.toy.train import TrainConfig, train


def test_a_few_training_steps_write_a_checkpoint_the_loader_accepts(tmp_path):
    from explain.intake import check_image
    from explain.model import load_detector
    from explain.toy import world
    from explain.toy.evaluate import png_bytes

    out = train(
        TrainConfig(
            out=str(tmp_path / "toy"),
            n_images=6,
            val_images=0,
            batch=2,
            stage1_steps=2,
            stage2_steps=2,
            stage3_steps=1,
            workers=1,
            device="cpu",
            log_every=1000,
        )
    )
    assert (out / "model.safetensors").is_file()
    assert "num_additional_image_tokens" not in json.loads((out / "processor_config.json").read_text())
    detector = load_detector(str(out), device="cpu")
    explanation = detector.explain(check_image(png_bytes(world.generate(3, 0).image)), max_new_tokens=4)
    assert 1 <= len(explanation.token_ids) <= 4  # untrained, but the whole path runs


def test_every_training_flag_says_what_it_does():
    import argparse
    from dataclasses import fields

    from explain.toy.train import HELP, add_arguments

    assert set(HELP) == {f.name for f in fields(TrainConfig)}
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert "--init-from" in parser.format_help()


def test_training_can_continue_a_checkpoint_without_stage_2(tmp_path):
    """--init-from starts from the given weights (not random ones), and 0 stage-2 steps skip stage 2."""
    import torch
    from safetensors.torch import load_file

    from explain.model import TOY_MODEL_DIR

    out = train(
        TrainConfig(
            out=str(tmp_path / "cont"),
            init_from=str(TOY_MODEL_DIR),
            n_images=4,
            val_images=0,
            batch=2,
            stage1_steps=0,
            stage2_steps=0,
            stage3_steps=0,
            workers=1,
            device="cpu",
        )
    )
    before, after = load_file(TOY_MODEL_DIR / "model.safetensors"), load_file(out / "model.safetensors")
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # no step taken: the same weights
