"""Training data of the toy FakeVLM: world samples made in worker processes, as the model sees them."""

from __future__ import annotations

import threading
import time

import numpy as np

from . import texts, world

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)


def make_item(job: tuple[int, int]):
    """What training needs of one world sample (runs in a worker process)."""
    seed, index = job
    s = world.generate(seed, index)
    pairs = [(world.KINDS.index(a.kind), world.REGIONS.index(a.region)) for a in s.artifacts]
    return world.model_view(s.image), world.patch_labels(s).astype(np.int16), s.label == "fake", pairs


class Data:
    """Model views, patch labels and artifact lists of `n` images, filled in by a pool in the
    background; `ready` grows as images arrive (in index order)."""

    def __init__(self, pool, seed: int, n: int):
        self.n = n
        self.views = np.zeros((n, world.MODEL_SIZE, world.MODEL_SIZE, 3), np.uint8)
        self.labels = np.zeros((n, world.GRID, world.GRID), np.int16)
        self.fake = np.zeros(n, bool)
        self.pairs: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        self.ready = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._fill, args=(pool, seed), daemon=True)
        self._thread.start()

    def _fill(self, pool, seed: int) -> None:
        try:
            jobs = ((seed, i) for i in range(self.n))
            for i, (view, labels, fake, pairs) in enumerate(pool.imap(make_item, jobs, chunksize=8)):
                self.views[i], self.labels[i], self.fake[i], self.pairs[i] = view, labels, fake, pairs
                self.ready = i + 1
        except BaseException as exc:  # surfaced by wait()/sample()
            self.error = exc

    def wait(self, count: int | None = None) -> None:
        count = self.n if count is None else min(count, self.n)
        while self.ready < count:
            if self.error is not None:
                raise RuntimeError("image generation failed") from self.error
            time.sleep(0.05)

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        if self.error is not None:
            raise RuntimeError("image generation failed") from self.error
        return rng.integers(0, self.ready, batch)


def pixel_values(views: np.ndarray, device, dtype=None):
    """uint8 N x 336 x 336 x 3 -> normalised N x 3 x 336 x 336, as CLIPImageProcessor makes them."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(views)).to(device)
    x = x.permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN, device=device)[None, :, None, None]
    std = torch.tensor(STD, device=device)[None, :, None, None]
    x = (x - mean) / std
    return x if dtype is None else x.to(dtype)


def answer_text(rng: np.random.Generator, fake: bool, pairs) -> str:
    named = [(world.KINDS[k], world.REGIONS[r]) for k, r in sorted(pairs, key=lambda p: p[1])]
    return texts.explanation(rng, "fake" if fake else "real", named)
