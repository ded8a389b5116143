"""Helpers for the storage tests: real small PNGs and realistic records (imported by conftest and
the tests; a distinct module name so it cannot collide with other packages' conftest modules)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from storage import FeedbackIn, MapIn, PhraseSpan, PredictionIn, Store

SECRET = b"test-secret-key-not-for-production"
ANSWER = "This is a fake image. The skin looks overly smooth. The left eye reflects a different light."
PHRASES = [PhraseSpan("This is a fake image.", 0, 21), PhraseSpan("The skin looks overly smooth.", 22, 51),
           PhraseSpan("The left eye reflects a different light.", 52, 92)]


def png_bytes(seed: int, size: tuple[int, int] = (8, 6)) -> bytes:
    """A real, small PNG whose pixels depend on `seed` (so every seed has its own sha256)."""
    import io

    from PIL import Image

    img = Image.new("RGB", size)
    img.putdata([((seed * 7 + i) % 256, (seed * 13) % 256, (i * 3) % 256) for i in range(size[0] * size[1])])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@contextmanager
def fresh_pg_schema(base: str) -> Iterator[str]:
    """The PostgreSQL URL `base` (on the psycopg driver) with its search_path set to a brand-new
    schema, which is dropped on exit."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


class Maker:
    """Builds realistic records against a store."""

    def __init__(self, store: Store | None) -> None:
        self.store = store

    def visitor(self, name: str) -> str:
        assert self.store is not None
        return self.store.client_hash(name)

    def prediction_in(self, client: str, image: bytes, **kw: Any) -> PredictionIn:
        fields: dict[str, Any] = dict(
            client_hash=client, image_sha256=hashlib.sha256(image).hexdigest(), image_format="png",
            image_width=8, image_height=6, model_id="lingcco/fakeVLM", model_revision="abc123",
            prompt="<image>Does the image looks real/fake?", text=ANSWER, verdict="fake", p_fake=0.93,
            phrases=PHRASES, timings={"total_s": 2.5, "first_token_s": 0.4, "new_tokens": 31.0},
            provenance={"c2pa": {"present": False}, "exif": {"software": "GIMP"}})
        fields.update(kw)
        return PredictionIn(**fields)

    def prediction(self, client: str, image: bytes, **kw: Any) -> int:
        assert self.store is not None
        return self.store.save_prediction(self.prediction_in(client, image, **kw))

    def grid(self, seed: float = 0.0, rows: int = 24, cols: int = 24) -> list[list[float]]:
        return [[(r * cols + c) / 100.0 - 2.0 + seed for c in range(cols)] for r in range(rows)]

    def maps(self, n: int = 3, method: str = "gradient") -> list[MapIn]:
        return [MapIn(i, method, self.grid(i), (0, 0, 8, 6), score=-1.5 - i, reliance=0.25 * i,
                      deletion_auc=0.1, insertion_auc=0.7) for i in range(n)]

    def feedback(self, pid: int, client: str, **kw: Any) -> FeedbackIn:
        fields: dict[str, Any] = dict(prediction_id=pid, client_hash=client, verdict_correct=True,
                                      true_label="fake", phrase_votes={1: "agree", 2: "disagree"},
                                      category="human", comment="the eyes gave it away", consent=True)
        fields.update(kw)
        return FeedbackIn(**fields)
