"""Run the app with its classroom page: `python -m demo.classroom [the flags of app.py]`.

The same start-up as app.py (configuration, model, store, main page), plus the /classroom route and
the interface languages. Once app.py mounts the classroom itself (docs/classroom.md, "Wiring"), this
is only a shortcut; the browser tests start the app through it.
"""

from __future__ import annotations

import logging
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main(argv: list[str] | None = None) -> int:
    from demo.config import ConfigError, parse_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = parse_config(sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        print(f"demo.classroom: {exc}", file=sys.stderr)
        return 2

    from explain.loader import ModelUnavailable, load_detector
    from storage import StorageError, Store

    try:
        detector = load_detector(config.model, revision=config.revision, device=config.device,
                                 dtype=config.dtype, quantization=config.quantization)
    except ModelUnavailable as exc:
        print(f"demo.classroom: {exc}", file=sys.stderr)
        return 2
    try:
        store = Store.open(config.db_url, config.data_dir)
    except StorageError as exc:
        print(f"demo.classroom: {exc}", file=sys.stderr)
        return 2

    from demo.classroom import add_classroom
    from demo.i18n import i18n
    from demo.state import AppState
    from demo.ui import build_demo, launch_options

    app = AppState(detector, store, config)
    demo = build_demo(app)
    classroom = add_classroom(demo, app)
    try:
        demo.launch(**launch_options(config), i18n=i18n())
    finally:
        classroom.close()
        app.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
