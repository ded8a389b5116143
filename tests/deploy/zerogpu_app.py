"""The app's GPU functions under the ZeroGPU harness, in a fresh process (run by test_zerogpu.py):
this process plays the Space's main process (it loads the toy model and never computes with it
before the calls); each call forks, as ZeroGPU's do.

    python tests/deploy/zerogpu_app.py app|generate
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]
os.environ["SPACES_ZERO_GPU"] = "true"

from zerogpu_harness import ZeroGPU  # noqa: E402

from demo.service.gpu import MAX_CALL_S, ModelWorker, stream_seconds  # noqa: E402
from explain.intake import check_image  # noqa: E402
from explain.model import TOY_MODEL_DIR, load_detector  # noqa: E402
from explain.types import Explanation, TextDelta  # noqa: E402

EXAMPLE = TOY_MODEL_DIR.parent / "examples" / "toy-fake-two-artifacts.png"


def main(scenario: str) -> None:
    import torch

    zero_gpu = ZeroGPU(max_duration_s=MAX_CALL_S)
    sys.modules["spaces"] = zero_gpu  # the platform's decorator, as gpu() imports it
    checked = check_image(EXAMPLE.read_bytes())
    if scenario == "generate":
        detector = load_detector("toy", device="cpu", decoder="generate")
        answer = list(ModelWorker(detector, occlusion_grid=4).stream(checked, 24))[-1]
        assert isinstance(answer, Explanation) and answer.text
        assert zero_gpu.calls[-1].asked_s == stream_seconds(checked, 24, fast=False)
        return

    detector = load_detector("toy", device="cpu")  # auto: the static engine, built in each call
    worker = ModelWorker(detector, occlusion_grid=4)
    items = list(worker.stream(checked, 48))
    answer = items[-1]
    assert isinstance(answer, Explanation) and answer.text
    assert any(isinstance(i, TextDelta) for i in items)
    maps = worker.attribute(checked, answer, "gradient", None)
    occluded = worker.attribute(checked, answer, "occlusion", None)
    assert len(maps) == len(occluded) >= 1 and len(occluded[0].grid) == 24

    stream_call, grad_call, occ_call = zero_gpu.calls
    assert [c.name for c in zero_gpu.calls] == ["_stream_impl", "_attribute_impl", "_attribute_impl"]
    assert len({c.pid for c in zero_gpu.calls}) == 3  # a fresh process per call
    assert stream_call.asked_s == stream_seconds(checked, 48, fast=True) and stream_call.items == len(items)
    assert grad_call.asked_s < occ_call.asked_s <= MAX_CALL_S
    # the children's state died with them: no engine, no decoder thread, no CUDA in this process
    assert not detector.backend._engines and not detector.backend._executor
    assert not [t for t in threading.enumerate() if t.name.startswith("spot-fastdecode")]
    assert not torch.cuda.is_initialized()
    # and the answer is the one the model gives in-process
    assert detector.explain(checked, max_new_tokens=48).text == answer.text
    print(f"{len(zero_gpu.calls)} calls: " + ", ".join(f"{c.name} asked {c.asked_s} s, took {c.wall_s:.1f} s"
                                                     for c in zero_gpu.calls))


if __name__ == "__main__":
    main(sys.argv[1])
