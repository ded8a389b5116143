"""ZeroGPU's process model on a CPU, for the tests: a stand-in for the `spaces` module whose `GPU`
decorator does what spaces.zero.wrappers does around a call (read from spaces 0.51):

- the duration is priced before the call: `duration(*args, **kwargs)` when it is callable;
- each call runs in a process forked from this one, the arguments pickled into it (the function
  itself, model included, is already there by the fork);
- results (every item, for a generator) are pickled back; an exception comes back as one;
- whatever the child changed is lost with it.
"""

from __future__ import annotations

import inspect
import multiprocessing
import os
import pickle
import time
import traceback
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    name: str
    asked_s: int
    pid: int = 0
    wall_s: float = 0.0
    first_item_s: float | None = None
    items: int = 0


@dataclass
class ZeroGPU:
    """Install with `monkeypatch.setitem(sys.modules, "spaces", harness)`; read `calls` after."""

    max_duration_s: int = 60
    calls: list[Call] = field(default_factory=list)
    # run in each child before the task, like the platform moving the weights onto the call's GPU
    child_setup: Any = None

    def GPU(self, task=None, *, duration=60, size=None):  # noqa: N802 - the spaces API's name
        if task is None:
            return lambda fn: self._wrap(fn, duration)
        return self._wrap(task, duration)

    def _wrap(self, fn, duration):
        harness = self

        def price(args, kwargs) -> Call:
            asked = duration(*args, **kwargs) if callable(duration) else duration
            assert isinstance(asked, int) and 0 < asked <= harness.max_duration_s, f"asked for {asked!r} s"
            call = Call(getattr(fn, "__name__", "?"), asked)
            harness.calls.append(call)
            return call

        if inspect.isgeneratorfunction(fn):
            def gen_wrapper(*args, **kwargs):
                call = price(args, kwargs)
                t0 = time.perf_counter()
                for _kind, value in _in_child(fn, args, kwargs, call, generator=True, setup=harness.child_setup):
                    if call.first_item_s is None:
                        call.first_item_s = time.perf_counter() - t0
                    call.items += 1
                    yield value
                call.wall_s = time.perf_counter() - t0
            return gen_wrapper

        def wrapper(*args, **kwargs):
            call = price(args, kwargs)
            t0 = time.perf_counter()
            (_, value), = list(_in_child(fn, args, kwargs, call, generator=False, setup=harness.child_setup))
            call.wall_s = time.perf_counter() - t0
            return value
        return wrapper


def _in_child(fn, args, kwargs, call: Call, *, generator: bool, setup=None, limit_s: float = 600.0):
    ctx = multiprocessing.get_context("fork")
    arg_recv, arg_send = ctx.Pipe(duplex=False)
    res_recv, res_send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child_main, args=(fn, arg_recv, res_send, generator, setup), daemon=True)
    child.start()
    res_send.close()  # the child's end: once it exits, reading here fails instead of waiting forever
    call.pid = child.pid
    arg_send.send_bytes(pickle.dumps((args, kwargs)))  # what crosses into the child is pickled, as on ZeroGPU
    deadline = time.monotonic() + limit_s
    try:
        while True:
            while not res_recv.poll(0.5):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"ZeroGPU worker {child.pid} gave nothing for {limit_s:.0f} s")
            try:
                kind, payload = pickle.loads(res_recv.recv_bytes())
            except EOFError:
                raise RuntimeError(f"ZeroGPU worker {child.pid} died (exit code {child.exitcode})") from None
            if kind == "end":
                return
            if kind == "error":
                raise RuntimeError(f"ZeroGPU worker error:\n{payload}")
            yield kind, payload
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()


def _child_main(fn, arg_recv, res_send, generator: bool, setup=None) -> None:
    def send(kind: str, value: Any) -> None:
        res_send.send_bytes(pickle.dumps((kind, value)))  # an item that does not pickle fails here, as there

    try:
        if setup is not None:
            setup()
        args, kwargs = pickle.loads(arg_recv.recv_bytes())
        if generator:
            for item in fn(*args, **kwargs):
                send("ok", item)
        else:
            send("ok", fn(*args, **kwargs))
        send("end", None)
    except BaseException:  # noqa: BLE001 - handed to the parent, like spaces' ExceptionResult
        send("error", traceback.format_exc())
    finally:
        os._exit(0)  # no atexit handlers or flushes of the parent's state from the fork
