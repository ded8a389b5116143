"""The toy FakeVLM: a small trained LLaVA that detects artifacts planted in generated images.

It is the app's offline default and the ground truth for attribution maps: the world it learns
(`world`) records exactly where each artifact is. `python -m explain.toy train|eval|sample`.
Its checkpoint ships in assets/toy-fakevlm/ (see MODEL_CARD.md there). It knows nothing about real
AI-generated images.
"""
