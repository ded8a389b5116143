"""Alembic migrations: head matches the ORM models, an old schema with data upgrades on open, and
a database from a newer app is refused with a clear message."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from storage_helpers import SECRET, Maker, png_bytes

from storage import SchemaError, Store, db
from storage.models import Base


def _engine(url: str):  # noqa: ANN202
    return db.make_engine(db.parse_url(url), role="migrate")


def test_revisions_chain_from_0001_and_open_goes_to_head(db_url: str, tmp_path) -> None:  # noqa: ANN001
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config())
    chain = [r.revision for r in script.walk_revisions()][::-1]
    assert chain[:2] == ["0001", "0002"]  # later revisions may follow; these two stay
    assert len(script.get_heads()) == 1
    with Store.open(db_url, tmp_path / "data", secret=SECRET) as store:
        assert store.schema_revision == db.head_revision() == chain[-1]
        assert db.current_revision(store._reader) == chain[-1]  # noqa: SLF001


def test_head_schema_matches_the_models(db_url: str, tmp_path) -> None:  # noqa: ANN001
    Store.open(db_url, tmp_path / "data", secret=SECRET).close()
    engine = _engine(db_url)
    try:
        with engine.connect() as conn:
            # Only the tables these models define (other modules may add their own tables).
            ctx = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: kind != "table" or name in Base.metadata.tables})
            diffs = [d for d in compare_metadata(ctx, Base.metadata)
                     # SQLite cannot report named CHECK constraints back; types of JSON columns on
                     # SQLite reflect as JSON on both sides, so nothing else is filtered.
                     if not (isinstance(d, tuple) and d[0] in ("add_ck", "remove_ck"))]
        assert diffs == []
    finally:
        engine.dispose()


def test_old_schema_with_data_upgrades_on_open(db_url: str, tmp_path) -> None:  # noqa: ANN001
    url = db.parse_url(db_url)
    assert db.upgrade(url, "0001") == "0001"
    engine = _engine(db_url)
    img = png_bytes(7)
    sha = hashlib.sha256(img).hexdigest()
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    try:
        cols = {c["name"] for c in inspect(engine).get_columns("predictions")}
        assert "provenance" not in cols  # really the old schema
        with engine.begin() as conn:
            ts = now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now
            client = hashlib.sha256(b"old visitor").hexdigest()
            conn.execute(text("INSERT INTO images (sha256, format, width, height, created_at) "
                              "VALUES (:s, 'png', 8, 6, :t)"), {"s": sha, "t": ts})
            conn.execute(text(
                "INSERT INTO predictions (image_sha256, client_hash, model_id, model_revision, prompt, text, "
                "verdict, p_fake, phrases, timings, created_at) VALUES (:s, :c, 'lingcco/fakeVLM', 'r1', "
                "'<image>Does the image looks real/fake?', 'This is a real image.', 'real', 0.1, :ph, :tm, :t)"),
                {"s": sha, "c": client, "t": ts,
                 "ph": json.dumps([{"text": "This is a real image.", "char_start": 0, "char_end": 21}]),
                 "tm": json.dumps({"total_s": 1.0})})
            old_pid = conn.execute(text("SELECT id FROM predictions")).scalar_one()
            conn.execute(text(
                "INSERT INTO feedback (prediction_id, client_hash, verdict_correct, true_label, category, "
                "comment, consent, created_at, updated_at, review_state) VALUES (:p, :c, :f, 'fake', "
                "'scenery', 'old comment', :t1, :t, :t, 'accepted')"),
                {"p": old_pid, "c": client, "f": False, "t1": True, "t": ts})
            old_fid = conn.execute(text("SELECT id FROM feedback")).scalar_one()
            conn.execute(text("INSERT INTO phrase_votes (feedback_id, phrase_index, vote) VALUES (:f, 0, 'disagree')"),
                         {"f": old_fid})
    finally:
        engine.dispose()

    with Store.open(db_url, tmp_path / "data", secret=SECRET) as store:
        assert store.schema_revision == db.head_revision()
        p = store.reviewer_get_prediction(old_pid)
        assert p is not None
        assert (p.text, p.verdict, p.p_fake, p.model_revision) == ("This is a real image.", "real", 0.1, "r1")
        assert p.provenance is None and p.timings == {"total_s": 1.0} and p.created_at == now
        assert (p.rule, p.preprocess) == ("word", "default")  # 0004: what every older prediction used
        assert p.image.sha256 == sha and (p.image.width, p.image.height) == (8, 6)
        [f] = store.reviewer_list_feedback()
        assert (f.verdict_correct, f.true_label, f.category, f.comment, f.consent, f.review_state) == \
            (False, "fake", "scenery", "old comment", True, "accepted")
        assert f.phrase_votes == {0: "disagree"}
        # The new column works, and new ids continue after the old ones.
        m = Maker(store)
        pid = m.prediction(m.visitor("new"), png_bytes(8), provenance={"c2pa": {"issuer": "x"}})
        assert pid > old_pid
        assert store.reviewer_get_prediction(pid).provenance == {"c2pa": {"issuer": "x"}}  # type: ignore[union-attr]


def test_database_from_a_newer_app_is_refused(db_url: str, tmp_path) -> None:  # noqa: ANN001
    Store.open(db_url, tmp_path / "data", secret=SECRET).close()
    engine = create_engine(db.parse_url(db_url))
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    with pytest.raises(SchemaError, match="revision '9999', which this version of the app does not know"):
        Store.open(db_url, tmp_path / "data", secret=SECRET)


def test_upgrade_false_refuses_an_old_schema(db_url: str, tmp_path) -> None:  # noqa: ANN001
    db.upgrade(db.parse_url(db_url), "0001")
    with pytest.raises(SchemaError, match=f"not '{db.head_revision()}'"):
        Store.open(db_url, tmp_path / "data", secret=SECRET, upgrade=False)


def test_sqlite_pragmas_are_set(tmp_path) -> None:  # noqa: ANN001
    with Store.open(f"sqlite:///{tmp_path / 'spot.db'}", tmp_path / "data", secret=SECRET) as store:
        for engine in (store._reader, store._writer_engine):  # noqa: SLF001
            with engine.connect() as conn:
                get = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
                assert get("journal_mode") == "wal"
                assert get("foreign_keys") == 1
                assert get("busy_timeout") == db.DEFAULT_BUSY_TIMEOUT_MS
                assert get("synchronous") == 1  # NORMAL
                assert get("secure_delete") == 1
