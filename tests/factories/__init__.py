"""Fixture factories for the tests and the benchmarks: tiny llava-hf checkpoints and the 7B-shape
model (checkpoints.py), sample files carrying provenance evidence (provenance_samples.py).

Importable as `tests.factories` with the repo root on sys.path (tests/conftest.py and the bench
scripts put it there); `tests` itself stays a namespace package.
"""
