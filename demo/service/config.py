"""Start-up configuration: every command-line flag is also an environment variable.

One table (`OPTIONS`) is the single source: the argument parser, the environment lookup and the
README check in tests/demo/service/test_config.py all read it, so a flag cannot exist undocumented.
Precedence: command line > environment > default. Secrets (admin token, secret key) are read from
the environment only, so they never show up in a process list or a shell history.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from explain.intake import CELL_GRIDS, GRID
from storage.db import default_data_dir, default_url

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}
SPACE_PROXIES = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
_DTYPES = ("auto", "bfloat16", "float16", "float32", "bf16", "fp16", "fp32")


def on_spaces(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a Hugging Face Space (the platform sets SPACE_ID)."""
    env = os.environ if environ is None else environ
    return bool(env.get("SPACE_ID"))


def parse_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"expected a yes/no value (true/false, 1/0), got {value!r}")


@dataclass(frozen=True)
class Option:
    """One setting: its flag (None = environment only), variable, type, default and help text."""

    name: str  # AppConfig field
    env: str
    flag: str | None
    kind: type  # str | int | float | bool
    default: Any
    help: str
    secret: bool = False


# Defaults that depend on where we run (Spaces or not) are filled in by `parse_config`; here they
# are None and the help text says what they become.
OPTIONS: tuple[Option, ...] = (
    Option("model", "SPOT_MODEL", "--model", str, "auto",
           "`auto`, `toy`, a Hugging Face model id or a local folder. `auto` serves FakeVLM "
           "(lingcco/fakeVLM) when a GPU and its weights are available, otherwise the shipped toy "
           "model with a banner saying why (also on a CPU-only Space; on a GPU or ZeroGPU Space it fails instead of falling back)."),
    Option("revision", "SPOT_REVISION", "--revision", str, None,
           "Hub revision (branch, tag or commit) of the model; pin a commit in production."),
    Option("device", "SPOT_DEVICE", "--device", str, None,
           "`cuda`, `cuda:1`, `cpu`, `mps`; default: the first GPU if any, else the CPU."),
    Option("dtype", "SPOT_DTYPE", "--dtype", str, None,
           "`bfloat16`, `float16`, `float32` (or `bf16`, `fp16`, `fp32`); default: bfloat16 on GPU, "
           "float32 on CPU."),
    Option("quantization", "SPOT_QUANTIZATION", "--quantization", str, None,
           "`4bit` or `8bit` (bitsandbytes, GPU only) to fit FakeVLM on a smaller GPU."),
    Option("decoder", "SPOT_DECODER", "--decoder", str, "auto",
           "Greedy decoding path: `auto` (static KV cache + CUDA graphs on a GPU, else `generate`), "
           "`generate` or `static`."),
    Option("rule", "SPOT_RULE", "--rule", str, "word",
           "Verdict rule: `word` (\"real\"/\"fake\" as whole words) or `substring` (the paper's: "
           "\"unrealistic\" counts as real). Stored with each prediction."),
    Option("preprocess", "SPOT_PREPROCESS", "--preprocess", str, "default",
           "`default` (the picture as a person sees it: EXIF orientation applied, transparency on grey) "
           "or `paper` (as FakeVLM's evaluation reads it: PIL `convert(\"RGB\")`, no rotation, alpha "
           "dropped). Stored with each prediction."),
    Option("db_url", "SPOT_DB_URL", "--db", str, None,
           "SQLAlchemy database URL; default: a SQLite file `spot.sqlite3` in the data directory."),
    Option("data_dir", "SPOT_DATA_DIR", "--data-dir", str, None,
           "Where the database, consented images and exports live; default `./data` "
           "(`/data`, the persistent volume, on a Space that has one)."),
    Option("image_store", "SPOT_IMAGE_STORE", "--image-store", str, None,
           "fsspec URL where consented pictures are kept, one store shared by every replica (`s3://bucket/spot`, "
           "`gcs://bucket/spot`, `file:///mnt/shared/spot`; the protocol's package must be installed, e.g. s3fs); "
           "default: `images/` in the data directory."),
    Option("host", "SPOT_HOST", "--host", str, None,
           "Address to listen on; default 127.0.0.1 (0.0.0.0 on a Space)."),
    Option("port", "SPOT_PORT", "--port", int, 7860, "Port to listen on."),
    Option("share", "SPOT_SHARE", "--share", bool, False,
           "Also open a temporary public gradio.live link."),
    Option("max_upload_mb", "SPOT_MAX_UPLOAD_MB", "--max-upload-mb", float, 20.0,
           "Largest accepted upload, in MiB (checked by the browser, the server and the intake)."),
    Option("max_pixels", "SPOT_MAX_PIXELS", "--max-pixels", int, 40_000_000,
           "Largest accepted picture, in pixels (width × height), checked before decoding."),
    Option("max_new_tokens", "SPOT_MAX_NEW_TOKENS", "--max-new-tokens", int, 256,
           "Longest explanation generated, in tokens."),
    Option("occlusion_grid", "SPOT_OCCLUSION_GRID", "--occlusion-grid", int, GRID,
           "Cells a side of the faithful occlusion map: 24 (576 rescorings; about 11 s for FakeVLM on "
           "an H200; for the toy model on a busy 2-core CPU 24-84 s, bench/MAPS_PROGRESS_RESULTS.md; the "
           "page shows its progress, the time left and a Cancel) or another divisor of 24, e.g. 12 (4x "
           "faster, coarser)."),
    Option("concurrency", "SPOT_CONCURRENCY", "--concurrency", int, None,
           "How many explanations may stream at once; default 1, or with batched decoding the streams "
           "the GPU's memory allows (at most 16)."),
    Option("batch_decode", "SPOT_BATCH_DECODE", "--batch-decode", str, "auto",
           "Decode simultaneous explanations in one continuous batch: `auto` (on a dedicated GPU for a "
           "model the fast engine supports; not on ZeroGPU or a CPU), `on` or `off` (one after another)."),
    Option("queue_size", "SPOT_QUEUE_SIZE", "--queue-size", int, 64,
           "How many explanations may wait for the model beyond those running (`--concurrency`); more are "
           "turned away with a sentence until one finishes."),
    Option("rate_limit", "SPOT_RATE_LIMIT", "--rate-limit", int, 30,
           "Explanations, new maps and feedback submissions allowed per visitor per 10 minutes (each "
           "kind counted apart; four visitors' worth per address, whatever browsers it uses)."),
    Option("trusted_proxies", "SPOT_TRUSTED_PROXIES", "--trusted-proxies", str, None,
           "Comma-separated addresses or networks of the reverse proxies in front of the app, whose "
           "`X-Forwarded-For` is believed (the right-most hop not in the list is the visitor's address, "
           "used only for rate limits). Default: none (the socket's address), or the private networks "
           "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 on a Space, where the platform's proxy forwards."),
    Option("upload_budget_mb", "SPOT_UPLOAD_BUDGET_MB", "--upload-budget-mb", float, 500.0,
           "Upload volume allowed per visitor address per 10 minutes, in MiB; one upload request may carry at "
           "most 8 files of the largest accepted size. Uploads older than an hour are swept from the cache."),
    Option("results_cache_mb", "SPOT_RESULTS_CACHE_MB", "--results-cache-mb", float, 512.0,
           "Memory for visitors' recent results (kept for their maps and feedback), in MiB, counting each "
           "upload and its decoded picture; the oldest results are dropped first (at most 64 are kept)."),
    Option("c2pa_trust", "SPOT_C2PA_TRUST", "--c2pa-trust", str, None,
           "Which Content Credentials signers count as trusted: a PEM file of trust anchors (e.g. "
           "the C2PA trust list) or a folder with `anchors.pem`, `allowed.pem`, `store.cfg`. "
           "Unset: a signer is shown as unverified unless c2pa-rs itself trusts it. See Content "
           "Credentials below."),
    Option("mcp", "SPOT_MCP", "--mcp", bool, False,
           "Serve an MCP endpoint at `/gradio_api/mcp/` with two tools for AI assistants, `explain_image` and "
           "`read_evidence` (page limits apply). Off by default: on a public Space it would open the model to "
           "automated callers; turn it on where you want them. See MCP below."),
    Option("admin_token", "SPOT_ADMIN_TOKEN", None, str, None,
           "Reviewer password for the Explorer tab (environment only). Unset: token login is off.",
           secret=True),
    Option("reviewers", "SPOT_REVIEWERS", "--reviewers", str, "",
           "Comma-separated Hugging Face user names allowed to review when signed in on a Space."),
    Option("secret_key", "SPOT_SECRET_KEY", None, str, None,
           "Key for the pseudonymous visitor hashes (environment only, at least 16 characters). "
           "Unset: a random key is created once and kept in `<data dir>/secret.key`.", secret=True),
)


@dataclass(frozen=True)
class AppConfig:
    model: str = "auto"
    revision: str | None = None
    device: str | None = None
    dtype: str | None = None
    quantization: str | None = None
    decoder: str = "auto"
    rule: str = "word"
    preprocess: str = "default"
    db_url: str = ""
    data_dir: Path = Path("data")
    image_store: str | None = None
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False
    max_upload_mb: float = 20.0
    max_pixels: int = 40_000_000
    max_new_tokens: int = 256
    occlusion_grid: int = GRID
    concurrency: int | None = 1  # None from parse_config when unset: AppState decides
    batch_decode: str = "auto"
    queue_size: int = 64
    rate_limit: int = 30
    trusted_proxies: tuple[str, ...] = ()
    upload_budget_mb: float = 500.0
    results_cache_mb: float = 512.0
    c2pa_trust: str | None = None
    mcp: bool = False
    admin_token: str | None = field(default=None, repr=False)
    reviewers: tuple[str, ...] = ()
    secret_key: str | None = field(default=None, repr=False)
    on_spaces: bool = False

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the flag and the variable."""


def _convert(opt: Option, raw: Any) -> Any:
    where = f"{opt.flag} / {opt.env}" if opt.flag else opt.env
    try:
        if opt.kind is bool:
            return parse_bool(raw)
        if opt.kind is int:
            number = float(raw)  # accepts "4e7" for pixel counts
            if not math.isfinite(number) or number != int(number):
                raise ValueError(f"expected a whole number, got {raw!r}")
            value: Any = int(number)
        elif opt.kind is float:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(f"expected a number, got {raw!r}")
        else:
            value = str(raw).strip()
    except (TypeError, ValueError) as e:
        msg = str(e) if "expected" in str(e) else f"expected a {opt.kind.__name__}, got {raw!r}"
        raise ConfigError(f"{where}: {msg}") from None
    if opt.name == "port":
        if not 0 <= value <= 65535:
            raise ConfigError(f"{where}: must be a port number (0-65535), got {raw!r}")
    elif opt.kind in (int, float) and value <= 0:
        raise ConfigError(f"{where}: must be positive, got {raw!r}")
    elif opt.name == "occlusion_grid" and value not in CELL_GRIDS:
        grids = ", ".join(map(str, CELL_GRIDS[:-1]))
        raise ConfigError(f"{where}: must divide the {GRID} patches a side ({grids} or {GRID}), got {raw!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="app.py",
        description="Spot the Fake: FakeVLM explains why an image looks AI-generated.",
        epilog="Every flag can also be set through the environment variable named in its help.",
    )
    for opt in OPTIONS:
        if opt.flag is None:
            continue
        help_text = f"{opt.help} [env {opt.env}]"
        if opt.kind is bool:
            p.add_argument(opt.flag, dest=opt.name, action=argparse.BooleanOptionalAction,
                           default=None, help=help_text)
        else:
            p.add_argument(opt.flag, dest=opt.name, default=None, help=help_text)
    return p


def parse_config(argv: Sequence[str] | None = None,
                 environ: Mapping[str, str] | None = None) -> AppConfig:
    """Read flags and environment into an AppConfig; raise ConfigError with a readable message."""
    env = dict(os.environ if environ is None else environ)
    args = vars(build_parser().parse_args([] if argv is None else list(argv)))
    spaces = on_spaces(env)
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        raw = args.get(opt.name)
        if raw is None:
            raw = env.get(opt.env)
            if raw is not None and raw.strip() == "" and opt.kind is not bool:
                raw = None  # an empty Space variable means "not set"
        values[opt.name] = _convert(opt, raw) if raw is not None else opt.default

    if values["data_dir"] is None:
        values["data_dir"] = default_data_dir(env)
    data_dir = Path(values["data_dir"]).expanduser()
    values["data_dir"] = data_dir
    if values["db_url"] is None:
        values["db_url"] = default_url(data_dir)  # the same file the storage CLI opens by default
    if values["host"] is None:
        values["host"] = "0.0.0.0" if spaces else "127.0.0.1"  # noqa: S104 - a Space must listen
    if values["trusted_proxies"] is None:
        values["trusted_proxies"] = SPACE_PROXIES if spaces else ""
    values["trusted_proxies"] = _networks(values["trusted_proxies"])
    values["reviewers"] = tuple(r.strip() for r in (values["reviewers"] or "").split(",") if r.strip())
    if values["quantization"] not in (None, "4bit", "8bit"):
        raise ConfigError(f"--quantization / SPOT_QUANTIZATION must be 4bit or 8bit, got {values['quantization']!r}")
    if values["decoder"] not in ("auto", "generate", "static"):
        raise ConfigError(f"--decoder / SPOT_DECODER must be auto, generate or static, got {values['decoder']!r}")
    if values["batch_decode"] not in ("auto", "on", "off"):
        raise ConfigError(f"--batch-decode / SPOT_BATCH_DECODE must be auto, on or off, got {values['batch_decode']!r}")
    if values["rule"] not in ("word", "substring"):
        raise ConfigError(f"--rule / SPOT_RULE must be word or substring, got {values['rule']!r}")
    if values["preprocess"] not in ("default", "paper"):
        raise ConfigError(f"--preprocess / SPOT_PREPROCESS must be default or paper, got {values['preprocess']!r}")
    if values["dtype"] not in (None, *_DTYPES):
        raise ConfigError(f"--dtype / SPOT_DTYPE must be one of {', '.join(_DTYPES)}, got {values['dtype']!r}")
    if values["secret_key"] is not None and len(values["secret_key"]) < 16:
        raise ConfigError("SPOT_SECRET_KEY is too short: use at least 16 characters, e.g. the output of "
                          "`python -c 'import secrets; print(secrets.token_hex(32))'`")
    if values["c2pa_trust"] and not Path(values["c2pa_trust"]).expanduser().exists():
        raise ConfigError(f"--c2pa-trust / SPOT_C2PA_TRUST: no such file or folder: {values['c2pa_trust']}")
    values["on_spaces"] = spaces
    known = {f.name for f in fields(AppConfig)}
    return AppConfig(**{k: v for k, v in values.items() if k in known})


def _networks(raw: str) -> tuple[str, ...]:
    out = []
    for item in (x.strip() for x in raw.split(",")):
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"--trusted-proxies / SPOT_TRUSTED_PROXIES: {item!r} is not an address or network "
                              "(e.g. 10.0.0.0/8 or 127.0.0.1)") from None
        out.append(item)
    return tuple(out)


def options_table_markdown() -> str:
    """The README table of flags and variables, generated from OPTIONS (paste into README.md)."""
    rows = ["| Flag | Environment variable | Default | Meaning |", "|---|---|---|---|"]
    for opt in OPTIONS:
        flag = f"`{opt.flag}`" if opt.flag else "(env only)"
        default = "" if opt.default in (None, "") else f"`{opt.default}`"
        rows.append(f"| {flag} | `{opt.env}` | {default} | {opt.help} |")
    return "\n".join(rows)
