"""A visitor's removal request: `delete_image` leaves no trace of the image, in rows, files, exports,
and (on SQLite) in the bytes of the database file itself."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select
from storage_helpers import Maker, png_bytes

from storage import Store, ValidationError
from storage.export import export

SECRET_COMMENT = "zebra-unicorn-7731 please forget me"
SECRET_FIX = "quokka-sentinel-4410 corrected explanation"


def _all_cells(store: Store) -> list[str]:
    md = MetaData()
    with store._reader.connect() as conn:  # noqa: SLF001 - the test inspects every table there is
        md.reflect(conn)
        return [str(v) for t in md.sorted_tables for row in conn.execute(select(t)) for v in row]


def test_delete_image_leaves_no_trace(store: Store, make: Maker, tmp_path: Path) -> None:
    alice, bob = make.visitor("alice"), make.visitor("bob")
    doomed, kept = png_bytes(70), png_bytes(71)
    sha = hashlib.sha256(doomed).hexdigest()
    p1 = make.prediction(alice, doomed)
    p2 = make.prediction(bob, doomed)  # the same picture, uploaded by someone else too
    p3 = make.prediction(alice, kept)
    for pid in (p1, p2, p3):
        store.save_maps(pid, make.maps(3))
    store.save_feedback(make.feedback(p1, alice, comment=SECRET_COMMENT, verdict_correct=False, true_label="real",
                                      corrected_explanation=SECRET_FIX), image_bytes=doomed)
    store.save_feedback(make.feedback(p2, bob), image_bytes=doomed)
    store.save_feedback(make.feedback(p3, alice), image_bytes=kept)
    assert any(sha in c for c in _all_cells(store))

    res = store.delete_image(sha)
    assert (res.images, res.predictions, res.maps, res.feedback, res.file_removed) == (1, 2, 6, 2, True)

    cells = _all_cells(store)
    assert not any(sha in c or SECRET_COMMENT in c or SECRET_FIX in c for c in cells)
    assert not store.files.path(sha).exists()
    assert all(s != sha for s, _p, _t in store.files.iter_files())
    assert store.reviewer_get_prediction(p1) is None and store.reviewer_get_image(sha) is None
    assert [p.id for p in store.list_predictions(alice)] == [p3]
    assert store.get_image(hashlib.sha256(kept).hexdigest(), alice) == kept  # the rest is untouched
    assert len(store.reviewer_get_maps(p3)) == 3
    assert store.check() == []
    st = store.stats()
    assert (st.predictions, st.feedback, st.images, st.images_stored) == (1, 1, 1, 1)

    report = export(store.export_rows(), "jsonl", tmp_path / "after")
    assert report.records == 1
    assert sha not in (tmp_path / "after" / "metadata.jsonl").read_text()

    if store.dialect == "sqlite":
        # secure_delete zeroed the freed content and the checkpoint emptied the WAL, so not even the
        # raw file holds the deleted text.
        db_file = Path(store.url.database)  # type: ignore[arg-type]
        raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*") if p.is_file())
        for needle in (sha, SECRET_COMMENT, SECRET_FIX):
            assert needle.encode() not in raw, needle

    # Deleting again finds nothing; a malformed id is refused before touching anything.
    again = store.delete_image(sha)
    assert (again.images, again.predictions, again.feedback, again.file_removed) == (0, 0, 0, False)
    with pytest.raises(ValidationError, match="64-character hex"):
        store.delete_image("../../etc/passwd")


def test_delete_removes_an_orphan_file_too(store: Store) -> None:
    ref = store.put_image(png_bytes(72), "png")
    res = store.delete_image(ref.sha256.upper())  # ids are case-insensitive hex
    assert (res.images, res.file_removed) == (1, True)
    assert not store.files.path(ref.sha256).exists()
