"""The model side of Spot the Fake, one subpackage per step of the flow (never imports gradio).

- `intake`: upload bytes -> checked RGB picture, sha256 and the crop box the model sees;
- `model`: find and load a llava-hf checkpoint, wrap it in a `Detector` that streams explanations;
- `decoding`: greedy decoding backends (transformers' `generate`, static cache + CUDA graphs) and
  token helpers; knows nothing of the detector;
- `verdict`, `phrases`, `confidence`, `types`: the verdict rule, phrase spans and plain data;
- `attribution`: per-phrase maps (Captum); `provenance`: metadata evidence; `toy`: the toy world.

Imports run one way: intake, decoding and provenance import no other step (verdict and phrases
only types); model imports decoding, verdict, phrases and types; attribution imports intake and
types; toy and cli sit on top.
"""
