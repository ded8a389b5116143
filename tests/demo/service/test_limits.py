"""In-memory limits of the service: the admission of explanations (the real queue size)."""

from __future__ import annotations

from demo.service.limits import Admission


def test_admission_counts_until_release_and_forgets_the_abandoned():
    now = [0.0]
    door = Admission(2, ttl_s=60, clock=lambda: now[0])
    assert door.admit("a") and door.admit("b") and not door.admit("c")
    assert door.admit("a")  # the same request checked twice is one request
    door.release("a")
    assert door.admit("c") and door.waiting == 2
    now[0] = 61.0  # "b" and "c" never started: forgotten
    assert door.admit("d") and door.waiting == 1
