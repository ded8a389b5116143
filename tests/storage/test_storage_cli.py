"""`python -m storage ...` as an operator runs it: real files, clear messages, no tracebacks,
non-zero exits on errors. The entry point and `push` (real huggingface_hub client, up to the
network call) run as real subprocesses; the database commands run `storage.cli.main` in-process,
where any exception it failed to turn into a message would fail the test."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from storage_helpers import SECRET, Maker, png_bytes

from storage import Store
from storage.cli import main

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOT_DB", "SPOT_DATA", "HF_"))}
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "storage", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or REPO, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    for key in ("SPOT_DB_URL", "SPOT_DATA_DIR"):
        monkeypatch.delenv(key, raising=False)

    def _run(*args: str, env: dict[str, str] | None = None) -> Result:
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse usage errors
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return _run


@pytest.fixture
def filled_db(db_url: str, tmp_path: Path) -> tuple[str, Path, str]:
    data = tmp_path / "data"
    with Store.open(db_url, data, secret=SECRET) as store:
        m = Maker(store)
        v = m.visitor("cli")
        img = png_bytes(80)
        pid = m.prediction(v, img)
        store.save_feedback(m.feedback(pid, v, phrase_votes={1: "agree"}), image_bytes=img)
        pid2 = m.prediction(v, png_bytes(81), verdict="real", p_fake=0.2)
        store.save_feedback(m.feedback(pid2, v, verdict_correct=False, true_label="fake", consent=False))
    return db_url, data, hashlib.sha256(img).hexdigest()


def test_entry_point_runs_as_a_module(filled_db: tuple[str, Path, str]) -> None:
    url, data, _ = filled_db
    proc = cli("stats", "--json", "--db", url, "--data-dir", str(data))
    assert proc.returncode == 0 and json.loads(proc.stdout)["predictions"] == 2
    bad = cli("delete", "--image", "nope", "--db", url, "--data-dir", str(data))
    assert bad.returncode == 1 and bad.stderr.startswith("error: image sha256 must be")


def test_stats(run: Runner, filled_db: tuple[str, Path, str]) -> None:
    url, data, _ = filled_db
    proc = run("stats", "--db", url, "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr
    assert "predictions           total 2, fake 1, real 1" in proc.stdout
    assert "verdict judged        right 1, wrong 1, unanswered 0" in proc.stdout
    assert "phrase agreement      agree 2, disagree 1" in proc.stdout
    assert "review                pending 2, accepted 0, rejected 0" in proc.stdout
    as_json = json.loads(run("stats", "--json", "--db", url, "--data-dir", str(data)).stdout)
    assert as_json["feedback"] == 2 and as_json["images_stored"] == 1


def test_env_defaults_are_used(run: Runner, filled_db: tuple[str, Path, str]) -> None:
    url, data, _ = filled_db
    proc = run("stats", "--json", env={"SPOT_DB_URL": url, "SPOT_DATA_DIR": str(data)})
    assert proc.returncode == 0 and json.loads(proc.stdout)["predictions"] == 2


def test_export_each_format(run: Runner, filled_db: tuple[str, Path, str], tmp_path: Path) -> None:
    url, data, sha = filled_db
    for fmt, data_file in (("fakeclue", "fakeclue.json"), ("jsonl", "metadata.jsonl"), ("parquet", "data.parquet")):
        out = tmp_path / f"out-{fmt}"
        proc = run("export", "--db", url, "--data-dir", str(data), "--format", fmt, "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        assert f"exported 1 record(s) and 1 image(s) as {fmt}" in proc.stdout
        assert (out / data_file).is_file()
    assert (tmp_path / "out-jsonl" / "images" / f"{sha}.png").read_bytes() == png_bytes(80)
    again = run("export", "--db", url, "--data-dir", str(data), "--format", "jsonl", "--out", str(tmp_path / "out-jsonl"))
    assert again.returncode == 1 and "not an empty folder" in again.stderr
    acc = run("export", "--db", url, "--data-dir", str(data), "--format", "jsonl", "--accepted-only",
              "--out", str(tmp_path / "acc"))
    assert acc.returncode == 0 and "exported 0 record(s)" in acc.stdout


def test_delete_and_check(run: Runner, filled_db: tuple[str, Path, str]) -> None:
    url, data, sha = filled_db
    proc = run("delete", "--image", sha, "--db", url, "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr
    assert f"deleted image {sha}: 1 image row(s), 1 prediction(s), 0 map(s), 1 feedback record(s); file removed" \
        in proc.stdout
    again = run("delete", "--image", sha, "--db", url, "--data-dir", str(data))
    assert again.returncode == 1 and "nothing is stored for image" in again.stderr
    bad = run("delete", "--image", "../../etc/passwd", "--db", url, "--data-dir", str(data))
    assert bad.returncode == 1 and "64-character hex" in bad.stderr
    chk = run("check", "--db", url, "--data-dir", str(data))
    assert chk.returncode == 0 and chk.stdout.strip() == "ok"


def test_database_errors_are_one_line(run: Runner, tmp_path: Path) -> None:
    missing = run("stats", "--db", f"sqlite:///{tmp_path / 'nope.db'}")
    assert missing.returncode == 1 and "no database at" in missing.stderr
    assert not (tmp_path / "nope.db").exists()
    garbage = run("stats", "--db", "this is not a url")
    assert garbage.returncode == 1 and "not a database URL" in garbage.stderr
    port = _closed_port()
    pg = run("stats", "--db", f"postgresql://spot:spot@127.0.0.1:{port}/spot", "--data-dir", str(tmp_path / "d"))
    assert pg.returncode == 1 and "cannot use the database postgresql+psycopg://spot:***@127.0.0.1" in pg.stderr
    assert not (tmp_path / "d").exists()
    usage = run("export", "--format", "xml", "--out", "x")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    with Store.open(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "pdata", secret=SECRET) as store:
        m = Maker(store)
        v = m.visitor("p")
        img = png_bytes(90)
        store.save_feedback(m.feedback(m.prediction(v, img), v), image_bytes=img)
        from storage.export import export

        export(store.export_rows(), "parquet", tmp_path / "exp")
    return tmp_path / "exp"


def test_push_reaches_the_network_call_and_reports_failure(export_dir: Path, tmp_path: Path) -> None:
    port = _closed_port()
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_TOKEN": "hf_dummy_token_for_tests",
           "HF_HOME": str(tmp_path / "hf")}
    proc = cli("push", "--repo", "spot-the-fake/feedback", "--dir", str(export_dir), env=env)
    assert proc.returncode == 1
    assert f"could not reach the Hugging Face Hub at http://127.0.0.1:{port}" in proc.stderr


def test_push_offline_mode_and_user_errors(run: Runner, export_dir: Path, tmp_path: Path) -> None:
    home = {"HF_HOME": str(tmp_path / "hf")}
    offline = cli("push", "--repo", "a/b", "--dir", str(export_dir),
                  env={**home, "HF_HUB_OFFLINE": "1", "HF_TOKEN": "hf_dummy"})
    assert offline.returncode == 1 and "offline mode is on" in offline.stderr
    no_token = cli("push", "--repo", "a/b", "--dir", str(export_dir), env=home)
    assert no_token.returncode == 1 and "no Hugging Face token" in no_token.stderr
    bad_repo = run("push", "--repo", "no-slash", "--dir", str(export_dir))
    assert bad_repo.returncode == 1 and "OWNER/NAME" in bad_repo.stderr
    not_export = run("push", "--repo", "a/b", "--dir", str(tmp_path))
    assert not_export.returncode == 1 and "does not look like an export" in not_export.stderr


def test_storage_never_imports_torch_or_gradio() -> None:
    code = ("import sys; import storage, storage.cli, storage.export, storage.hub, storage.store; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'gradio', 'explain', 'demo'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
