"""Write llava-hf checkpoints offline, in exactly the file layout of FakeVLM on the Hub.

`python -m tests.factories.checkpoints tiny OUT_DIR` (from the repo root) writes a tiny random-weight
checkpoint (tests use it; loaded through the same loader as the Hub model). `build_7b_shape_model` builds a random-weight model
of FakeVLM's exact shape for the GPU benchmark (never in CI: it is 7 B parameters).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "assets" / "reference"
LLAVA_7B_CONFIG = REFERENCE_DIR / "llava-1.5-7b-config.json"
PREPROCESSOR_CONFIG = REFERENCE_DIR / "preprocessor_config.json"
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<image>"]

# FakeVLM's processor_config.json as published: note the missing num_additional_image_tokens.
PROCESSOR_CONFIG = {
    "image_token": "<image>",
    "patch_size": 14,
    "processor_class": "LlavaProcessor",
    "vision_feature_select_strategy": "default",
}

_CORPUS = [
    "<image>Does the image looks real/fake?",
    "This is a fake image. The person's skin looks overly smooth and the lighting is inconsistent.",
    "This is a real image. The textures, shadows and reflections are consistent with a photograph.",
    "This is a fake image. The text on the sign is warped; the background repeats in a regular pattern.",
    "This is a real image. Fine details such as hair, fabric and foliage look natural.",
    "The upper left region shows a checkerboard pattern typical of upsampling.",
    "Colour banding appears in the sky, and the edges of the object are blurred.",
    "0123456789 , . ; : ! ? ' \" ( ) - / é ü 中文 图像",
]


def build_tokenizer(vocab_size: int = 600):
    """A small byte-level BPE tokenizer whose 'real' and 'fake' are single tokens, as in Llama's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
    )
    fast.add_bos_token = True
    return fast


def tiny_config(tokenizer, *, vision_hidden: int = 32, text_hidden: int = 32, layers: int = 2):
    """A LlavaConfig of FakeVLM's geometry (336 px, 14-px patches, 576 image tokens), tiny widths."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    vision = CLIPVisionConfig(
        hidden_size=vision_hidden,
        intermediate_size=vision_hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=2,
        image_size=336,
        patch_size=14,
        projection_dim=vision_hidden,
        hidden_act="quick_gelu",
    )
    text = LlamaConfig(
        hidden_size=text_hidden,
        intermediate_size=text_hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        projector_hidden_act="gelu",
        image_seq_length=576,
        pad_token_id=tokenizer.pad_token_id,
    )


def write_checkpoint(model, tokenizer, out_dir: str | Path, *, processor_config: dict | None = None) -> Path:
    """Save model + tokenizer + image/processor configs in the llava-hf layout (safetensors)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.generation_config.do_sample = False
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    (out / "preprocessor_config.json").write_text(PREPROCESSOR_CONFIG.read_text())
    (out / "processor_config.json").write_text(json.dumps(processor_config or PROCESSOR_CONFIG, indent=2) + "\n")
    for stray in ("chat_template.jinja", "chat_template.json"):
        (out / stray).unlink(missing_ok=True)
    return out


def build_tiny_random(out_dir: str | Path, *, seed: int = 0) -> Path:
    import torch
    from transformers import LlavaForConditionalGeneration

    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(tiny_config(tokenizer)).eval()
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return write_checkpoint(model, tokenizer, out_dir)


def build_7b_shape_model(*, device: str = "cuda", dtype=None, config_path: Path = LLAVA_7B_CONFIG):
    """Random-weight LlavaForConditionalGeneration of FakeVLM's exact shape, plus a tokenizer and
    processor that fit it (the toy tokenizer, with the image token id moved to the config's)."""
    import torch
    from transformers import LlavaConfig, LlavaForConditionalGeneration

    dtype = dtype or torch.bfloat16
    config = LlavaConfig.from_json_file(str(config_path))
    tokenizer = build_tokenizer()
    # the compute does not depend on which id marks image positions; the tokenizer's must match
    config.image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = LlavaForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(previous)
    model = model.to(dtype)  # the reference text_config says float16; FakeVLM runs in one dtype
    model.eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.factories.checkpoints", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    tiny = sub.add_parser("tiny", help="write a tiny random-weight checkpoint in the llava-hf layout")
    tiny.add_argument("out_dir")
    tiny.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = build_tiny_random(args.out_dir, seed=args.seed)
    print(f"wrote {path}: " + ", ".join(sorted(p.name for p in path.iterdir())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
