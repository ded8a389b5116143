"""Start-up configuration: flags, environment variables, their precedence, and the README table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from demo.service.config import OPTIONS, ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_work_on_a_fresh_machine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = parse_config([], {})
    assert (c.model, c.host, c.port, c.share, c.on_spaces) == ("auto", "127.0.0.1", 7860, False, False)
    assert c.db_url == f"sqlite:///{(tmp_path / 'data' / 'spot.sqlite3').resolve()}"
    assert c.max_upload_bytes == 20 * 1024 * 1024


def test_every_flag_has_its_environment_variable():
    env = {"SPOT_MODEL": "toy", "SPOT_REVISION": "abc123", "SPOT_DEVICE": "cpu", "SPOT_DTYPE": "fp32",
           "SPOT_QUANTIZATION": "8bit", "SPOT_DECODER": "generate", "SPOT_RULE": "substring",
           "SPOT_PREPROCESS": "paper", "SPOT_DB_URL": "sqlite:////tmp/x.db", "SPOT_DATA_DIR": "/tmp/spotdata",
           "SPOT_IMAGE_STORE": "file:///tmp/spotpics",
           "SPOT_HOST": "0.0.0.0", "SPOT_PORT": "8123", "SPOT_SHARE": "yes", "SPOT_MAX_UPLOAD_MB": "3.5",
           "SPOT_MAX_PIXELS": "4e6", "SPOT_MAX_NEW_TOKENS": "64", "SPOT_OCCLUSION_GRID": "12", "SPOT_CONCURRENCY": "3",
           "SPOT_QUEUE_SIZE": "10", "SPOT_RATE_LIMIT": "5", "SPOT_ADMIN_TOKEN": "tok",
           "SPOT_REVIEWERS": "alice, bob", "SPOT_SECRET_KEY": "k" * 32,
           "SPOT_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1", "SPOT_RESULTS_CACHE_MB": "256",
           "SPOT_UPLOAD_BUDGET_MB": "50", "SPOT_C2PA_TRUST": "/tmp", "SPOT_MCP": "on",
           "SPOT_BATCH_DECODE": "on"}
    assert {o.env for o in OPTIONS} == set(env), "this test must name every option"
    c = parse_config([], env)
    assert (c.model, c.revision, c.device, c.dtype, c.quantization) == ("toy", "abc123", "cpu", "fp32", "8bit")
    assert (c.decoder, c.rule, c.preprocess) == ("generate", "substring", "paper")
    assert (c.db_url, str(c.data_dir), c.host, c.port, c.share) == ("sqlite:////tmp/x.db", "/tmp/spotdata",
                                                                    "0.0.0.0", 8123, True)
    assert (c.max_upload_mb, c.max_pixels, c.max_new_tokens, c.concurrency) == (3.5, 4_000_000, 64, 3)
    assert c.occlusion_grid == 12
    assert c.image_store == "file:///tmp/spotpics"
    assert (c.queue_size, c.rate_limit, c.admin_token, c.reviewers) == (10, 5, "tok", ("alice", "bob"))
    assert c.secret_key == "k" * 32
    assert (c.trusted_proxies, c.results_cache_mb, c.upload_budget_mb) == (("10.0.0.0/8", "127.0.0.1"), 256.0, 50.0)
    assert c.c2pa_trust == "/tmp"
    assert c.mcp is True
    assert c.batch_decode == "on"


def test_batch_decode_and_concurrency_defaults():
    c = parse_config([], {})
    assert (c.batch_decode, c.concurrency) == ("auto", None)  # the app sizes concurrency to the batch
    assert parse_config(["--batch-decode", "off", "--concurrency", "2"], {}).concurrency == 2
    with pytest.raises(ConfigError, match="--batch-decode / SPOT_BATCH_DECODE"):
        parse_config(["--batch-decode", "sometimes"], {})


def test_command_line_beats_environment():
    c = parse_config(["--port", "9001", "--no-share", "--model", "toy"],
                     {"SPOT_PORT": "9000", "SPOT_SHARE": "true", "SPOT_MODEL": "auto"})
    assert (c.port, c.share, c.model) == (9001, False, "toy")


def test_on_a_space_listen_everywhere(monkeypatch):
    c = parse_config([], {"SPACE_ID": "someone/spot-the-fake"})
    assert c.on_spaces and c.host == "0.0.0.0"
    assert c.trusted_proxies == ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")  # the platform's proxy


def test_no_proxy_is_trusted_by_default_off_a_space():
    assert parse_config([], {}).trusted_proxies == ()
    with pytest.raises(ConfigError, match="not an address or network"):
        parse_config(["--trusted-proxies", "example.com"], {})


def test_secrets_are_not_command_line_flags():
    secret = [o for o in OPTIONS if o.secret]
    assert {o.env for o in secret} == {"SPOT_ADMIN_TOKEN", "SPOT_SECRET_KEY"}
    assert all(o.flag is None for o in secret)
    assert "s3cr3t-value" not in repr(parse_config([], {"SPOT_ADMIN_TOKEN": "s3cr3t-value"}))


@pytest.mark.parametrize("env, words", [
    ({"SPOT_PORT": "eighty"}, "SPOT_PORT"),
    ({"SPOT_PORT": "70000"}, "port number"),
    ({"SPOT_MAX_UPLOAD_MB": "-1"}, "positive"),
    ({"SPOT_CONCURRENCY": "1.5"}, "whole number"),
    ({"SPOT_SHARE": "perhaps"}, "yes/no"),
    ({"SPOT_QUANTIZATION": "3bit"}, "4bit or 8bit"),
    ({"SPOT_DTYPE": "int4"}, "SPOT_DTYPE"),
    ({"SPOT_SECRET_KEY": "short"}, "too short"),
    ({"SPOT_OCCLUSION_GRID": "5"}, "must divide the 24 patches"),
    ({"SPOT_RULE": "regex"}, "SPOT_RULE must be word or substring"),
    ({"SPOT_PREPROCESS": "raw"}, "SPOT_PREPROCESS must be default or paper"),
])
def test_bad_values_name_the_setting(env, words):
    with pytest.raises(ConfigError, match=words):
        parse_config([], env)


def test_readme_documents_every_flag_and_variable():
    """Docs checked against code: each option's flag and variable appear in README.md's table."""
    readme = (ROOT / "README.md").read_text()
    missing = []
    for o in OPTIONS:
        if not re.search(rf"`{re.escape(o.env)}`", readme):
            missing.append(o.env)
        if o.flag and not re.search(rf"`{re.escape(o.flag)}`[^\n]*`{re.escape(o.env)}`", readme):
            missing.append(f"{o.flag} (in the row of {o.env})")
    assert not missing, "README.md does not document: " + ", ".join(missing)


def test_app_help_lists_the_flags():
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), "--help"], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    for o in OPTIONS:
        if o.flag:
            assert o.flag in out.stdout and o.env in out.stdout


def test_app_refuses_a_bad_setting_in_one_line():
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), "--port", "eighty"], capture_output=True,
                         text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("app.py: --port / SPOT_PORT")


def test_c2pa_trust_must_exist_and_reaches_the_provenance_reader(tmp_path):
    from demo.service.explaining import read_provenance_json
    from tests.factories import provenance_samples as s

    with pytest.raises(ConfigError, match="SPOT_C2PA_TRUST"):
        parse_config([], {"SPOT_C2PA_TRUST": str(tmp_path / "missing.pem")})
    identity = s.signing_identity("Config Trust Signer", "Config Org")
    anchors = tmp_path / "anchors.pem"
    anchors.write_text(identity.root_pem)
    c = parse_config(["--c2pa-trust", str(anchors)], {})
    signed = s.sign_c2pa(s.jpeg_bytes(), "image/jpeg", identity=identity)
    [f] = [f for f in read_provenance_json(signed, c.c2pa_trust)["findings"] if f["kind"] == "c2pa"]
    assert f["details"]["status"] == "trusted"
    [f] = [f for f in read_provenance_json(signed)["findings"] if f["kind"] == "c2pa"]
    assert f["details"]["status"] == "valid_untrusted"
