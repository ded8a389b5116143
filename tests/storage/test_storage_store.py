"""Store round trips on every backend: records in equal records out, upserts, scoping, filters,
consent, stats."""

from __future__ import annotations

import hashlib
import math
from concurrent.futures import Future

import pytest
from storage_helpers import ANSWER, PHRASES, Maker, png_bytes

from storage import FeedbackFilter, MapIn, NotFound, Store, ValidationError


def test_prediction_round_trip(store: Store, make: Maker) -> None:
    alice = make.visitor("alice")
    img = png_bytes(1)
    p_in = make.prediction_in(alice, img)
    pid = store.save_prediction(p_in)
    out = store.get_prediction(pid, alice)
    assert out is not None
    assert (out.id, out.client_hash, out.text, out.verdict, out.p_fake) == (pid, alice, ANSWER, "fake", 0.93)
    assert (out.model_id, out.model_revision, out.prompt) == (p_in.model_id, "abc123", p_in.prompt)
    assert out.phrases == PHRASES
    assert out.timings == {"total_s": 2.5, "first_token_s": 0.4, "new_tokens": 31.0}
    assert out.provenance == {"c2pa": {"present": False}, "exif": {"software": "GIMP"}}
    assert out.image.sha256 == hashlib.sha256(img).hexdigest()
    assert (out.image.width, out.image.height, out.image.format) == (8, 6, "png")
    assert out.image.stored is False  # no consent given yet: bytes never reached the store
    assert out.created_at.tzinfo is not None
    assert not store.files.exists(out.image.sha256)


def test_maps_round_trip_as_float32_lists(store: Store, make: Maker) -> None:
    alice = make.visitor("alice")
    pid = make.prediction(alice, png_bytes(2))
    maps = make.maps(3)
    assert store.save_maps(pid, maps) == 3
    got = store.get_maps(pid, alice)
    assert [m.phrase_index for m in got] == [0, 1, 2]
    for m_in, m_out in zip(maps, got, strict=True):
        assert isinstance(m_out.grid, list) and len(m_out.grid) == 24 and len(m_out.grid[0]) == 24
        for row_in, row_out in zip(m_in.grid, m_out.grid, strict=True):
            for a, b in zip(row_in, row_out, strict=True):
                assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)  # float32 storage
        assert m_out.crop_box == (0, 0, 8, 6)
        assert (m_out.score, m_out.reliance) == (m_in.score, m_in.reliance)
    # Same (phrase, method) replaces; a new method adds.
    store.save_maps(pid, [MapIn(0, "gradient", make.grid(9.0), (1, 1, 7, 5)),
                          MapIn(0, "occlusion", make.grid(0.0, 4, 4), (0, 0, 8, 6))])
    got = store.get_maps(pid, alice)
    assert len(got) == 4
    g0 = next(m for m in got if (m.phrase_index, m.method) == (0, "gradient"))
    assert g0.crop_box == (1, 1, 7, 5) and math.isclose(g0.grid[0][0], 7.0, rel_tol=1e-6)
    occ = next(m for m in got if m.method == "occlusion")
    assert (len(occ.grid), len(occ.grid[0])) == (4, 4)


def test_feedback_upsert_edits_the_same_record(store: Store, make: Maker) -> None:
    alice = make.visitor("alice")
    img = png_bytes(3)
    pid = make.prediction(alice, img)
    fid = store.save_feedback(make.feedback(pid, alice), image_bytes=img)
    first = store.get_feedback(pid, alice)
    assert first is not None and first.id == fid
    assert first.phrase_votes == {1: "agree", 2: "disagree"} and first.review_state == "pending"

    store.review(fid, "accepted", "rita")
    reviewed = store.get_feedback(pid, alice)
    assert reviewed is not None and (reviewed.review_state, reviewed.reviewed_by) == ("accepted", "rita")

    # The visitor edits: same record, new content, back to pending review.
    fid2 = store.save_feedback(make.feedback(pid, alice, phrase_votes={0: "agree", 2: "agree"},
                                             corrected_explanation="This is a fake image. Too smooth.",
                                             comment="edited"))
    assert fid2 == fid
    edited = store.get_feedback(pid, alice)
    assert edited is not None
    assert edited.phrase_votes == {0: "agree", 2: "agree"}
    assert edited.corrected_explanation == "This is a fake image. Too smooth."
    assert edited.comment == "edited"
    assert (edited.review_state, edited.reviewed_by, edited.reviewed_at) == ("pending", None, None)
    assert edited.updated_at >= first.updated_at
    assert len(store.reviewer_list_feedback()) == 1

    # Saving identical content again keeps the review decision.
    store.review(fid, "accepted", "rita")
    store.save_feedback(make.feedback(pid, alice, phrase_votes={0: "agree", 2: "agree"},
                                      corrected_explanation="This is a fake image. Too smooth.",
                                      comment="edited"))
    assert store.get_feedback(pid, alice).review_state == "accepted"  # type: ignore[union-attr]


def test_visitor_reads_are_scoped(store: Store, make: Maker) -> None:
    alice, bob = make.visitor("alice"), make.visitor("bob")
    img_a, img_b = png_bytes(4), png_bytes(5)
    pa = make.prediction(alice, img_a)
    pb = make.prediction(bob, img_b, verdict="real", p_fake=0.1)
    store.save_maps(pa, make.maps(1))
    store.save_feedback(make.feedback(pa, alice), image_bytes=img_a)
    store.save_feedback(make.feedback(pb, bob, verdict_correct=False, true_label="fake"), image_bytes=img_b)

    assert [p.id for p in store.list_predictions(alice)] == [pa]
    assert [p.id for p in store.list_predictions(bob)] == [pb]
    assert store.get_prediction(pb, alice) is None
    assert store.get_maps(pa, bob) == []
    assert store.get_feedback(pa, bob) is None
    assert [f.prediction_id for f in store.list_feedback(alice)] == [pa]
    assert store.get_image(hashlib.sha256(img_b).hexdigest(), alice) is None
    assert store.get_image(hashlib.sha256(img_a).hexdigest(), alice) == img_a
    # Feedback on someone else's prediction is refused exactly like a missing one.
    with pytest.raises(NotFound, match="no prediction"):
        store.save_feedback(make.feedback(pb, alice))
    with pytest.raises(NotFound, match="no prediction"):
        store.save_feedback(make.feedback(999_999, alice))

    # Reviewers see everything.
    assert {p.id for p in store.reviewer_list_predictions()} == {pa, pb}
    assert store.reviewer_get_prediction(pb) is not None
    assert len(store.reviewer_get_maps(pa)) == 1
    assert store.reviewer_get_image(hashlib.sha256(img_b).hexdigest()) == img_b


def test_explorer_filters(store: Store, make: Maker) -> None:
    v = make.visitor("v")
    ids = {}
    # agree: verdict right, all phrases agreed
    p1 = make.prediction(v, png_bytes(10))
    ids["agree"] = store.save_feedback(make.feedback(p1, v, phrase_votes={1: "agree"}, category="human"))
    # phrase disagreement only
    p2 = make.prediction(v, png_bytes(11))
    ids["phrase"] = store.save_feedback(make.feedback(p2, v, phrase_votes={2: "disagree"}, category="animal"))
    # verdict wrong, on a "real" verdict
    p3 = make.prediction(v, png_bytes(12), verdict="real", p_fake=0.2)
    ids["wrong"] = store.save_feedback(make.feedback(p3, v, verdict_correct=False, true_label="fake",
                                                     phrase_votes={}, category="scenery"))
    # unanswered verdict, true label opposite to the verdict
    p4 = make.prediction(v, png_bytes(13))
    ids["label"] = store.save_feedback(make.feedback(p4, v, verdict_correct=None, true_label="real",
                                                     phrase_votes={}, category=None))
    store.review(ids["wrong"], "rejected", "rita")

    def q(**kw: object) -> set[int]:
        return {f.id for f in store.reviewer_list_feedback(FeedbackFilter(**kw))}  # type: ignore[arg-type]

    assert q() == set(ids.values())
    assert q(disagreement=True) == {ids["phrase"], ids["wrong"], ids["label"]}
    assert q(disagreement=False) == {ids["agree"]}
    assert q(verdict="real") == {ids["wrong"]}
    assert q(category="animal") == {ids["phrase"]}
    assert q(review_state="rejected") == {ids["wrong"]}
    assert q(review_state="pending") == {ids["agree"], ids["phrase"], ids["label"]}
    assert q(true_label="real") == {ids["label"]}
    assert q(disagreement=True, verdict="fake") == {ids["phrase"], ids["label"]}
    assert q(prediction_id=p3) == {ids["wrong"]}
    assert len(store.reviewer_list_feedback(FeedbackFilter(limit=2))) == 2
    assert {f.id for f in store.list_feedback(v, FeedbackFilter(disagreement=False))} == {ids["agree"]}
    assert store.list_feedback(make.visitor("nobody")) == []
    with pytest.raises(ValidationError, match="category filter"):
        store.reviewer_list_feedback(FeedbackFilter(category="cats"))


def test_consent_keeps_and_withdrawal_drops_image_bytes(store: Store, make: Maker) -> None:
    alice, bob = make.visitor("alice"), make.visitor("bob")
    img = png_bytes(20)
    sha = hashlib.sha256(img).hexdigest()
    pa = make.prediction(alice, img)
    pb = make.prediction(bob, img)  # same picture uploaded by two visitors

    store.save_feedback(make.feedback(pa, alice, consent=False), image_bytes=img)
    assert not store.files.exists(sha)  # no consent, no bytes, even when offered

    store.save_feedback(make.feedback(pa, alice, consent=True), image_bytes=img)
    store.save_feedback(make.feedback(pb, bob, consent=True), image_bytes=img)
    assert store.files.path(sha).read_bytes() == img
    assert store.reviewer_get_prediction(pa).image.stored  # type: ignore[union-attr]

    store.save_feedback(make.feedback(pa, alice, consent=False))
    assert store.files.exists(sha)  # bob's consent still covers the bytes
    store.save_feedback(make.feedback(pb, bob, consent=False))
    assert not store.files.exists(sha)
    assert not store.reviewer_get_prediction(pa).image.stored  # type: ignore[union-attr]
    assert store.check() == []


def test_image_bytes_must_match_the_prediction(store: Store, make: Maker) -> None:
    alice = make.visitor("alice")
    pid = make.prediction(alice, png_bytes(21))
    wrong = png_bytes(22)
    with pytest.raises(ValidationError, match="not those of this prediction"):
        store.save_feedback(make.feedback(pid, alice), image_bytes=wrong)
    assert store.get_feedback(pid, alice) is None  # the whole write was refused
    assert list(store.files.iter_files()) == []  # and no file was written for the wrong bytes


def test_put_image_is_byte_exact_and_content_addressed(store: Store, make: Maker) -> None:
    data = png_bytes(23) + b"\x00trailing bytes a re-encoder would drop\xff"
    ref = store.put_image(data, "PNG", width=8, height=6)
    assert ref.sha256 == hashlib.sha256(data).hexdigest() and ref.stored and ref.size_bytes == len(data)
    path = store.files.path(ref.sha256)
    assert path.read_bytes() == data
    assert path.relative_to(store.data_dir).as_posix() == f"images/{ref.sha256[:2]}/{ref.sha256}.bin"
    assert store.put_image(data, "png").sha256 == ref.sha256  # idempotent
    with pytest.raises(ValidationError, match="image format"):
        store.put_image(data, "../../etc/passwd")
    with pytest.raises(ValidationError):
        store.put_image(b"", "png")


def test_async_write_returns_a_future(store: Store, make: Maker) -> None:
    alice = make.visitor("alice")
    fut = store.save_prediction_async(make.prediction_in(alice, png_bytes(24)))
    assert isinstance(fut, Future)
    pid = fut.result(timeout=10)
    fb = store.save_feedback_async(make.feedback(pid, alice))
    assert fb.result(timeout=10) > 0
    bad = store.save_feedback_async(make.feedback(pid + 1000, alice))
    with pytest.raises(NotFound):
        bad.result(timeout=10)


def test_contradictory_feedback_is_refused_with_a_message(store: Store, make: Maker) -> None:
    alice = make.visitor("alice")
    pid = make.prediction(alice, png_bytes(25))  # verdict fake
    with pytest.raises(ValidationError, match="make them agree"):
        store.save_feedback(make.feedback(pid, alice, verdict_correct=True, true_label="real"))
    with pytest.raises(ValidationError, match="answer has 3 phrases"):
        store.save_feedback(make.feedback(pid, alice, phrase_votes={7: "agree"}))


def test_odd_text_is_cleaned_not_lost(store: Store, make: Maker) -> None:
    alice = make.visitor("alice")
    pid = make.prediction(alice, png_bytes(26))
    store.save_feedback(make.feedback(pid, alice, comment="nul\x00here \ud800 lone surrogate, ünïcødé 🙂"))
    got = store.get_feedback(pid, alice)
    assert got is not None and got.comment == "nulhere ? lone surrogate, ünïcødé 🙂"


def test_stats_counts(store: Store, make: Maker) -> None:
    v = make.visitor("v")
    p1 = make.prediction(v, png_bytes(30))
    p2 = make.prediction(v, png_bytes(31), verdict="real", p_fake=0.3)
    make.prediction(v, png_bytes(32), verdict="undecided", p_fake=None)
    f1 = store.save_feedback(make.feedback(p1, v), image_bytes=png_bytes(30))
    store.save_feedback(make.feedback(p2, v, verdict_correct=False, true_label="fake", category="animal",
                                      phrase_votes={0: "disagree"}, consent=False))
    store.review(f1, "accepted", "rita")
    st = store.stats()
    assert st.predictions == 3
    assert st.predictions_by_verdict == {"fake": 1, "real": 1, "undecided": 1}
    assert st.feedback == 2 and st.consented_feedback == 1
    assert st.feedback_by_verdict == {"right": 1, "wrong": 1, "unanswered": 0}
    assert st.true_labels == {"fake": 2}
    assert st.phrase_votes == {"agree": 1, "disagree": 2}
    assert st.review_states == {"pending": 1, "accepted": 1, "rejected": 0}
    assert st.categories == {"human": 1, "animal": 1}
    assert (st.images, st.images_stored, st.stored_bytes) == (3, 1, len(png_bytes(30)))


def test_review_validation(store: Store, make: Maker) -> None:
    with pytest.raises(NotFound):
        store.review(12345, "accepted", "rita")
    with pytest.raises(ValidationError, match="review state"):
        store.review(1, "approved", "rita")
    with pytest.raises(ValidationError, match="reviewer"):
        store.review(1, "accepted", "  ")
