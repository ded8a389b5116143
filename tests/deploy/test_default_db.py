"""Finding: `python -m storage stats` looked for data/spot.db while the app wrote data/spot.sqlite3.
The app and every command line now take their default from one place (storage.db.default_url)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from demo.service.config import parse_config
from storage import db

REPO = Path(__file__).resolve().parents[2]


def test_app_and_storage_cli_agree_on_the_default_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = parse_config([], environ={})

    # the app's store, opened where the app opens it by default, with one prediction in it
    from storage import Store
    from tests.storage.storage_helpers import SECRET, Maker, png_bytes

    with Store.open(config.db_url, config.data_dir, secret=SECRET) as store:
        maker = Maker(store)
        maker.prediction(maker.visitor("ana"), png_bytes(1))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOT_DB", "SPOT_DATA"))}
    env["PYTHONPATH"] = str(REPO)
    out = subprocess.run([sys.executable, "-m", "storage", "stats", "--json"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["predictions"] == 1


def test_one_constant_names_the_file(tmp_path):
    assert db.default_url(tmp_path) == f"sqlite:///{tmp_path.resolve() / db.DB_FILE}"
    assert parse_config(["--data-dir", str(tmp_path)], environ={}).db_url == db.default_url(tmp_path)


def test_data_dir_on_a_space_with_a_volume_is_the_volume():
    expected = Path("/data") if Path("/data").is_dir() else Path("data")
    assert db.default_data_dir({"SPACE_ID": "owner/space"}) == expected
    assert db.default_data_dir({}) == Path("data")
