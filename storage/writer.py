"""The single writer: one thread owns the one write connection; everyone else queues jobs.

This is datasette's pattern. SQLite allows one writer at a time; with many threads each opening
their own write transaction they queue on the file lock and, past the busy timeout, fail with
"database is locked". Funnelling writes through one thread removes that contention inside the
process, and lets the UI thread hand a write over and carry on (`submit` returns a Future).

Jobs that are waiting when the thread comes round are run together in one transaction (group
commit); a job that fails is taken out and the rest re-run, so one bad job fails alone. One commit per batch instead
of one per job is what makes 16 busy threads cheap on SQLite and on PostgreSQL alike. Results are
delivered only after the commit, and after-commit actions (removing a file) run before the
waiting caller is woken.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from .errors import StorageError, StoreClosed, WriteTimeout

log = logging.getLogger(__name__)
T = TypeVar("T")


class Tx:
    """What a job gets: the connection (inside the batch transaction, inside the job's savepoint)
    and a way to act after the commit. Jobs use SQLAlchemy Core: the ORM unit of work would cost
    about a millisecond per job in this one thread that every write goes through."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.callbacks: list[Callable[[], None]] = []

    def on_commit(self, fn: Callable[[], None]) -> None:
        self.callbacks.append(fn)


Job = Callable[[Tx], Any]


class _Item:
    __slots__ = ("fn", "future")

    def __init__(self, fn: Job, future: Future[Any]) -> None:
        self.fn = fn
        self.future = future


_STOP = object()


class _Abort(Exception):
    """Unwinds the batch transaction (rolling it back) when one job failed."""


def _transient(err: BaseException) -> bool:
    """Worth retrying the whole batch: lock timeouts, dropped connections, serialization failures."""
    if isinstance(err, DBAPIError) and err.connection_invalidated:
        return True
    return isinstance(err, OperationalError)


def _human(err: BaseException) -> BaseException:
    if isinstance(err, StorageError):
        return err
    if isinstance(err, DBAPIError):
        lines = str(err.orig).strip().splitlines() if err.orig is not None else []
        return StorageError(f"the database refused the write: {lines[0] if lines else type(err).__name__}")
    if isinstance(err, OSError):  # a full, read-only or missing disk under the picture store
        why = err.strerror or type(err).__name__
        return StorageError(f"the picture could not be written to disk ({why}); nothing was changed, "
                            "please try again later")
    return err


class Writer:
    def __init__(self, engine: Engine, *, max_batch: int = 64, retries: int = 3,
                 name: str = "spot-storage-writer") -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._retries = retries
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        # Drain queued writes if the process exits without close().
        atexit.register(self.close)

    def submit(self, fn: Job) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise StoreClosed("the store is closed; no more writes are accepted")
            self._queue.put(_Item(fn, future))
        return future

    def call(self, fn: Job, timeout: float | None) -> Any:
        future = self.submit(fn)
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise WriteTimeout(f"the write did not complete within {timeout:g} s "
                               "(it stays queued and may still complete)") from None

    def close(self, timeout: float = 60.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)
        atexit.unregister(self.close)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            batch = [b for b in batch if b.future.set_running_or_notify_cancel()]
            if batch:
                try:
                    self._run_batch(batch)
                except BaseException as err:  # never let the writer thread die silently
                    log.exception("storage writer: unexpected failure")
                    for b in batch:
                        if not b.future.done():
                            b.future.set_exception(_human(err))
            if stop:
                return

    def _run_batch(self, batch: list[_Item]) -> None:
        """Run `batch` in one transaction and commit once.

        Optimistic: no savepoint per job (two more statements each, a round trip each on
        PostgreSQL). If a job raises, the transaction is rolled back, that job alone gets its
        error, and the rest run again without it: the same as running them one by one without the
        failed job. Jobs are pure database work plus idempotent file writes, so a re-run is safe;
        after-commit actions come only from the run that committed.
        """
        pending = list(batch)
        transient_tries = 0
        while pending:
            outcomes: list[tuple[_Item, Any, list[Callable[[], None]]]] = []
            failed: tuple[_Item, BaseException] | None = None
            try:
                with self._engine.begin() as conn:
                    for item in pending:
                        tx = Tx(conn)
                        try:
                            value = item.fn(tx)
                        except Exception as err:
                            if _transient(err):
                                raise
                            failed = (item, err)
                            raise _Abort from None
                        outcomes.append((item, value, tx.callbacks))
            except _Abort:
                pass  # leaving the `with` rolled the transaction back
            except Exception as err:
                if _transient(err) and transient_tries < self._retries:
                    transient_tries += 1
                    log.warning("storage writer: retrying a batch of %d after %s", len(pending), err)
                    time.sleep(0.05 * 2**transient_tries)
                    continue
                if len(pending) > 1 and not _transient(err):
                    # The commit itself failed: run each job alone to find the one to blame.
                    for item in pending:
                        self._run_batch([item])
                    return
                for item in pending:
                    item.future.set_exception(_human(err))
                return
            if failed is not None:
                item, err = failed
                item.future.set_exception(_human(err))
                pending.remove(item)
                continue
            for _item, _value, callbacks in outcomes:
                for cb in callbacks:
                    try:
                        cb()
                    except Exception:
                        log.exception("storage writer: after-commit action failed")
            for item, value, _cbs in outcomes:
                item.future.set_result(value)
            return


def wait(future: Future[T], timeout: float | None) -> T:
    try:
        return future.result(timeout)
    except FutureTimeout:
        raise WriteTimeout(f"the write did not complete within {timeout:g} s") from None
