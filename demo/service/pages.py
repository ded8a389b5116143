"""Which picture a page is showing now, so that results of an older one are never drawn over it.

A visitor may upload a picture, remove it and upload another before the first answer has finished,
or click a second example while the first still streams. Each page (a Gradio session) has one
current upload: `start` is called as soon as an upload is checked (before it waits for the model),
and an older stream that sees it is no longer current stops at the next token, freeing the model;
maps and chips are drawn only for the page's current prediction. In memory, the newest 10,000 pages.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class Pages:
    def __init__(self, max_pages: int = 10_000) -> None:
        self.max_pages = max_pages
        self._now: OrderedDict[str, tuple[str | None, int | None]] = OrderedDict()  # page -> (upload, prediction)
        self._lock = threading.Lock()

    def _set(self, page: str, value: tuple[str | None, int | None]) -> None:
        self._now[page] = value
        self._now.move_to_end(page)
        while len(self._now) > self.max_pages:
            self._now.popitem(last=False)

    def start(self, page: str | None, upload: str | None) -> None:
        """The page now shows `upload` (None: nothing, after the picture was removed)."""
        if page:
            with self._lock:
                self._set(page, (upload, None))

    def is_current_upload(self, page: str | None, upload: str) -> bool:
        if not page:
            return True  # no page to follow (the classroom, scripts): nothing can overtake it
        with self._lock:
            now = self._now.get(page)
        return now is None or now[0] == upload

    def is_streaming(self, page: str) -> bool:
        """Whether the page's current upload is still being explained (no prediction yet)."""
        with self._lock:
            now = self._now.get(page)
        return now is not None and now[0] is not None and now[1] is None

    def done(self, page: str | None, upload: str, prediction_id: int) -> None:
        if page:
            with self._lock:
                if self._now.get(page, (upload, None))[0] == upload:
                    self._set(page, (upload, prediction_id))

    def is_current_prediction(self, page: str | None, prediction_id: int) -> bool:
        if not page:
            return True
        with self._lock:
            now = self._now.get(page)
        return now is None or now[1] == prediction_id
