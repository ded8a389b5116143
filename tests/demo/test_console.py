"""What `python app.py` prints: both addresses once, the model notice once, no library chatter (issue 19)."""

from __future__ import annotations

import re

OWN_LOGGERS = ("app", "demo", "explain", "storage")


def test_console_names_both_addresses_once_and_nothing_else_twice(server):
    log = server.log()
    port = server.url.rstrip("/").rsplit(":", 1)[1]
    assert log.count(f"http://127.0.0.1:{port}/classroom") == 1, log
    assert log.count(f"http://127.0.0.1:{port}/ ") == 1, log
    assert "share=True" not in log and "Running on local URL" not in log, log
    assert "Loading weights" not in log, log
    assert log.count("This is the toy model shipped with Spot the Fake") == 1, log


def test_only_our_own_loggers_speak_at_info(server):
    info = re.findall(r" INFO (\S+): ", server.log())
    strangers = sorted({name for name in info if not name.startswith(OWN_LOGGERS)})
    assert not strangers, f"library loggers at INFO: {strangers}"
