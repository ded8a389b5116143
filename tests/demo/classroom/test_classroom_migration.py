"""Migration 0003 (classroom tables): it upgrades to the head, it matches the ORM models, an existing 0002
database with data upgrades on open and keeps its data, and it downgrades cleanly."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import storage.classroom  # noqa: F401 - registers the classroom tables on the models' metadata
from storage import Store, db
from storage.classroom import AnswerIn, ClassroomStore, ItemIn
from storage.models import Base

from .conftest import SECRET, png_bytes

TABLES = {"lesson_sets", "lesson_items", "class_sessions", "class_participants", "class_answers"}


def _engine(url: str):
    return db.make_engine(db.parse_url(url), role="migrate")


def test_classroom_is_the_head_and_matches_the_models(db_url, tmp_path):
    Store.open(db_url, tmp_path / "data", secret=SECRET).close()
    engine = _engine(db_url)
    try:
        assert db.current_revision(engine) == db.head_revision()
        with engine.connect() as conn:
            assert TABLES <= set(inspect(conn).get_table_names())
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [d for d in compare_metadata(ctx, Base.metadata)
                     if not (isinstance(d, tuple) and d[0] in ("add_ck", "remove_ck"))]
        assert diffs == []
    finally:
        engine.dispose()


def test_an_old_database_upgrades_with_its_data_and_downgrades(db_url, tmp_path):
    url = db.parse_url(db_url)
    assert db.upgrade(url, "0002") == "0002"
    img = png_bytes(32, 32, 1)
    sha = hashlib.sha256(img).hexdigest()
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            ts = now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now
            conn.execute(text("INSERT INTO images (sha256, format, width, height, created_at) "
                              "VALUES (:s, 'png', 32, 32, :t)"), {"s": sha, "t": ts})
            conn.execute(text(
                "INSERT INTO predictions (image_sha256, client_hash, model_id, model_revision, prompt, text, "
                "verdict, p_fake, phrases, timings, created_at) VALUES (:s, :c, 'm', '', 'p', "
                "'This is a fake image.', 'fake', 0.9, :ph, '{}', :t)"),
                {"s": sha, "c": "a" * 64, "t": ts, "ph": json.dumps([])})
            pid = conn.execute(text("SELECT id FROM predictions")).scalar_one()
    finally:
        engine.dispose()
    with Store.open(db_url, tmp_path / "data", secret=SECRET) as store:  # upgrades to the head
        assert store.schema_revision == db.head_revision() >= "0004"  # later revisions (0004 rule, 0005 shares) came after
        assert store.reviewer_get_prediction(pid).text == "This is a fake image."
        cs = ClassroomStore(store)
        t = store.client_hash("classroom-teacher:tk")
        s = cs.open_session(cs.create_set(t, "L", [ItemIn(img, "png", 32, 32)]).code, t)
        cs.join(s.code, store.client_hash("classroom-student:x"), "X")
        cs.answer(s.code, store.client_hash("classroom-student:x"), s.items[0].id, AnswerIn("fake", 2))
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            command.downgrade(db.alembic_config(conn), "0002")
        with engine.connect() as conn:
            assert not TABLES & set(inspect(conn).get_table_names())
        assert db.current_revision(engine) == "0002"
    finally:
        engine.dispose()
    with Store.open(db_url, tmp_path / "data", secret=SECRET) as store:  # and back up, data intact
        assert store.reviewer_get_prediction(pid) is not None
        assert ClassroomStore(store).get_session(s.code) is None
