"""Spot the Fake: start the web app. Wiring only: configuration, model, store, UI, launch.

    python app.py [--model auto|toy|ID|PATH] [--db URL] [--data-dir DIR] [--port P] ...

Every flag is also an environment variable (see demo/service/config.py and the README).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a classroom machine
if os.environ.get("SPACES_ZERO_GPU"):
    import spaces  # noqa: F401 - ZeroGPU must be set up before torch touches CUDA


def _fewer_malloc_arenas() -> None:
    """glibc gives busy threads heaps of their own ("arenas"); the server's many worker threads then
    fragment memory and resident size creeps up under load (bench/SOAK_RESULTS.md: +70 MiB a minute
    with 8 visitors, flat with two arenas). Same as MALLOC_ARENA_MAX=2, which wins when it is set."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # -8 is M_ARENA_MAX; before any worker thread starts
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def main(argv: list[str] | None = None) -> int:
    _fewer_malloc_arenas()
    from demo.service.config import ConfigError, parse_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "httpx", "fontTools"):  # fontTools: a hundred INFO lines per PDF handout
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = parse_config(sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        print(f"app.py: {exc}", file=sys.stderr)
        return 2

    from transformers.utils import logging as transformers_logging

    from explain.model import ModelUnavailable, load_detector

    # a log, not a terminal: the weight-loading bar's carriage returns only clutter the Space's log
    transformers_logging.disable_progress_bar()
    from storage import StorageError, Store

    try:
        detector = load_detector(config.model, revision=config.revision, device=config.device,
                                 dtype=config.dtype, quantization=config.quantization, decoder=config.decoder,
                                 rule=config.rule)
    except ModelUnavailable as exc:
        print(f"app.py: {exc}", file=sys.stderr)
        return 2
    if detector.notice:
        logging.getLogger("app").warning(detector.notice)
    warm = detector.warmup(config.max_new_tokens)  # compile/capture before the first visitor waits
    if warm:
        logging.getLogger("app").info("decoder warm-up took %.1f s", warm)
    if config.on_spaces and not os.environ.get("SPACES_ZERO_GPU"):  # ZeroGPU: no CUDA at start-up
        from explain.selfcheck import startup_selfcheck  # the real weights, checked before visitors

        startup_selfcheck(detector, max_new_tokens=config.max_new_tokens, preprocess=config.preprocess)
    try:
        secret = config.secret_key.encode() if config.secret_key else None  # else the data dir's key file
        store = Store.open(config.db_url, config.data_dir, secret=secret, image_store=config.image_store)
    except StorageError as exc:
        print(f"app.py: {exc}", file=sys.stderr)
        return 2

    from demo.classroom import add_classroom
    from demo.labels import i18n
    from demo.service import AppState, Sharing
    from demo.share_page import share_routes
    from demo.ui import build_demo, launch_options
    from demo.uploads import UploadOwners

    app = AppState(detector, store, config)
    owners = UploadOwners()  # who uploaded which file: the upload middleware writes it, the page reads it
    demo = build_demo(app, owners)
    classroom = add_classroom(demo, app)  # the /classroom page for teachers and students
    # uvicorn believes X-Forwarded-For only from these peers (its default trusts loopback, which would
    # let any local client pick its own address and so its own rate limit); "" trusts nobody
    os.environ["FORWARDED_ALLOW_IPS"] = ",".join(config.trusted_proxies)
    signal.signal(signal.SIGTERM, _stop)  # a stopped container still finishes its queued writes
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::") else config.host  # noqa: S104 - what a browser opens
    print(f"Spot the Fake: http://{host}:{config.port}/  ·  classroom: http://{host}:{config.port}/classroom",
          flush=True)
    try:
        # quiet: the two addresses are printed above; Gradio's own lines would repeat one and suggest share=True
        demo.launch(**launch_options(config, owners, share_routes(Sharing(app))), i18n=i18n(), quiet=True)
    finally:
        classroom.close()
        app.close()
        store.close()
    return 0


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # Gradio's launch() closes the server on it; then the store is closed


if __name__ == "__main__":
    sys.exit(main())
