"""The faithful maps through `gradio_client` against a real server: they report progress with the
work's real size, never "ready" before they are, and cancelling the job stops the computation (the
model is free for the next visitor at once) while the app keeps serving."""

from __future__ import annotations

import time

from gradio_client import Client, handle_file

STATUS = 5  # /attribute's outputs: heatmap, multiples, chips, prior legend, maps JSON, status


def _prediction(client: Client, picture) -> int:
    updates = list(client.submit(handle_file(str(picture)), api_name="/explain"))
    return updates[-1][7]["prediction_id"]


def test_cancelling_the_occlusion_job_stops_it_and_the_app_keeps_serving(server, example_image):
    client = Client(server.url, verbose=False, download_files=False)
    pid = _prediction(client, example_image)
    job = client.submit(str(pid), "occlusion", None, 0.7, api_name="/attribute")
    deadline = time.monotonic() + 180
    progress = []
    while time.monotonic() < deadline and not job.done():
        progress = [o[STATUS] for o in job.outputs() if isinstance(o[STATUS], str) and "places" in o[STATUS]]
        if progress:
            break
        time.sleep(0.2)
    assert progress, f"no progress line while the occlusion ran: {[o[STATUS] for o in job.outputs()]}"
    assert "of 576 places" in progress[-1] and "ready" not in progress[-1].lower()
    assert "left" in progress[-1] or "measuring" in progress[-1]
    assert not job.done(), "the occlusion finished before it could be cancelled"
    job.cancel()
    cancelled_at = time.monotonic()

    # the model is free again: new maps (which need it alone) do not wait for the occlusion to end
    other = Client(server.url, verbose=False, download_files=False)
    pid2 = _prediction(other, example_image)
    heat, _, _, _, maps, status = other.predict(str(pid2), "gradient", None, 0.7, api_name="/attribute")
    waited = time.monotonic() - cancelled_at
    assert maps and heat is not None and "Maps ready" in status
    # the whole occlusion takes well over a minute here; a cancelled one lets go within a batch
    assert waited < 45, f"the next maps waited {waited:.0f} s: the cancelled occlusion kept the model"
    assert server.alive()
    # nothing half-done was kept: asking again starts the occlusion afresh (and reports from the start)
    again = client.submit(str(pid), "occlusion", None, 0.7, api_name="/attribute")
    deadline = time.monotonic() + 120
    first = None
    while time.monotonic() < deadline and first is None:
        first = next((o[STATUS] for o in again.outputs() if isinstance(o[STATUS], str) and "places" in o[STATUS]),
                     None)
        time.sleep(0.2)
    again.cancel()
    assert first is not None and "Faithful map" in first
