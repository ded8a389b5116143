"""Share links in the store: create, read, revoke (owner only, content wiped), concurrent creates,
the prediction's deletion taking its shares, and migration 0005 up and down. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect, text
from storage_helpers import SECRET, Maker, png_bytes

from storage import NotFound, Store, ValidationError, db
from storage.shares import token_hash, valid_share_token

CONTENT = {"verdict": "fake", "p_fake": 0.91, "text": "This is a fake image. <script>x</script>"}


def _engine(url: str):  # noqa: ANN202
    return db.make_engine(db.parse_url(url), role="migrate")


def test_create_read_revoke(store: Store, make: Maker) -> None:
    alice, bob = make.visitor("alice"), make.visitor("bob")
    pid = make.prediction(alice, png_bytes(1))
    pic = png_bytes(2)
    token = store.create_share(alice, pid, ["verdict", "picture"], CONTENT, pic)
    assert valid_share_token(token) and len(token) == 32
    got = store.get_share(token)
    assert got is not None
    assert (got.prediction_id, got.parts, got.content, got.picture) == (pid, ("verdict", "picture"), CONTENT, pic)
    # the token itself is not in the database, only its hash
    with store._reader.connect() as conn:  # noqa: SLF001
        rows = conn.execute(text("SELECT token_hash, owner_hash FROM shares")).all()
    assert rows == [(token_hash(token), alice)] and token not in repr(rows)
    # someone else cannot revoke it; its owner can, once
    assert store.revoke_share(token, [bob]) is False
    assert store.get_share(token) is not None
    assert store.revoke_share(token, [bob, alice]) is True
    assert store.get_share(token) is None
    assert store.revoke_share(token, [alice]) is False
    # revoking wiped what the page showed, not just hid it
    with store._reader.connect() as conn:  # noqa: SLF001
        row = conn.execute(text("SELECT picture, revoked_at FROM shares")).one()
    assert row.picture is None and row.revoked_at is not None
    assert store.count_shares(alice) == 0 and store.count_shares(alice, live_only=False) == 1


def test_unknown_and_malformed_tokens_are_none(store: Store, make: Maker) -> None:
    alice = make.visitor("alice")
    store.create_share(alice, make.prediction(alice, png_bytes(3)), ["verdict"], CONTENT)
    for token in ("A" * 32, "", "../../etc/passwd", "x" * 500, None, 12, "A" * 31 + "!"):
        assert store.get_share(token) is None  # type: ignore[arg-type]
        assert store.revoke_share(token, [alice]) is False  # type: ignore[arg-type]


def test_only_the_owner_of_a_prediction_may_share_it(store: Store, make: Maker) -> None:
    alice, bob = make.visitor("alice"), make.visitor("bob")
    pid = make.prediction(alice, png_bytes(4))
    with pytest.raises(NotFound):
        store.create_share(bob, pid, ["verdict"], CONTENT)
    with pytest.raises(NotFound):
        store.create_share(alice, pid + 1000, ["verdict"], CONTENT)
    with pytest.raises(ValidationError):
        store.create_share(alice, pid, [], CONTENT)
    with pytest.raises(ValidationError):
        store.create_share(alice, pid, ["verdict"], {"p": float("nan")})
    assert store.count_shares(alice, live_only=False) == 0


def test_concurrent_creates_give_distinct_live_tokens(store: Store, make: Maker) -> None:
    alice = make.visitor("alice")
    pid = make.prediction(alice, png_bytes(5))
    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(lambda i: store.create_share(alice, pid, ["verdict"], {"n": i}), range(40)))
    assert len(set(tokens)) == 40
    assert sorted(store.get_share(t).content["n"] for t in tokens) == list(range(40))
    assert store.count_shares(alice) == 40


def test_deleting_the_picture_deletes_its_shares(store: Store, make: Maker) -> None:
    alice = make.visitor("alice")
    img = png_bytes(6)
    token = store.create_share(alice, make.prediction(alice, img), ["verdict"], CONTENT, png_bytes(7))
    store.delete_image(hashlib.sha256(img).hexdigest())
    assert store.get_share(token) is None
    assert store.count_shares(alice, live_only=False) == 0


def test_migration_0005_up_and_down(db_url: str, tmp_path) -> None:  # noqa: ANN001
    from alembic import command

    url = db.parse_url(db_url)
    assert db.upgrade(url, "0004") == "0004"
    engine = _engine(db_url)
    try:
        assert "shares" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    with Store.open(db_url, tmp_path / "data", secret=SECRET) as store:  # 0004 -> head on open
        assert store.schema_revision == db.head_revision() >= "0005"
        m = Maker(store)
        alice = m.visitor("alice")
        token = store.create_share(alice, m.prediction(alice, png_bytes(8)), ["verdict"], CONTENT)
        assert store.get_share(token) is not None
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            command.downgrade(db.alembic_config(conn), "0004")
        assert "shares" not in inspect(engine).get_table_names()
        assert "predictions" in inspect(engine).get_table_names()
        with engine.begin() as conn:
            command.upgrade(db.alembic_config(conn), "0005")
        assert "shares" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
