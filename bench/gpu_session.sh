#!/usr/bin/env bash
# What issue #16 (batched streaming decode) still needs measured on a lent H200, one part per device
# call, each well inside the device's 10-minute command limit. Results go under $OUT/<part>/.
#
#   bash bench/gpu_session.sh wheels   HERE (not on the device), once, with network: the Python
#                                      packages the device's image lacks, pinned by constraints.txt,
#                                      for its Python 3.12, packed into .whl/site.tar.xz (carry ".whl")
#   bash bench/gpu_session.sh engine   batch_bench 7b, 8 streams x 256 tokens: one visitor alone
#                                      (serial and batched), 8 together (batched and serial), peak
#                                      memory, exactness, an occlusion map beside the streams
#   bash bench/gpu_session.sh app      batch_app_bench 7b: 8 gradio_client visitors against app.py,
#                                      batched (auto) then serial (--batch-decode off)
#   bash bench/gpu_session.sh maps     batch_bench 7b: a gradient map beside the streams (shared
#                                      turns), and occlusion in one piece (--map-turns none), the freeze
#                                      the shared turns replace; serial and exactness skipped
#   bash bench/gpu_session.sh check    the prelude alone: GPU, versions, every module importable
#
# bench/BATCH_RESULTS.md ("How to run on the GPU") has the exact device calls. Every device part
# starts with the prelude: unpack .whl/site.tar.xz into /tmp/site (kept while the machine stays warm),
# record the machine in $OUT/<part>/machine.txt, and import what the part needs (a missing package
# fails in seconds, not after the model is built). Each Python run has its own `timeout`, so its log
# ($OUT/<part>/run.log) and whatever it wrote come back even when it runs long.
#
# Why a tarball and not the wheels themselves (the device README's way): the wheels are 53 MB, the
# tracked tree 22 MB, and a call carries 64 MiB at most; xz packs the same installed files into ~36 MB.
set -uo pipefail
cd "$(dirname "$0")/.."
PART=${1:-}
PY=${PY:-python3}  # on the device, the image's python3 (3.12, torch 2.11, transformers 5.17)

# The app's and the benchmarks' imports that the device image's package list (KINDS.md, read
# 2026-11-17) lacks: found by importing app.py's modules, the /explain path and the benchmarks here and
# mapping them to distributions (huggingface_hub 2's httpx2 and friends are left out: the image has 1.x).
SITE_PACKAGES="gradio gradio_client hf-gradio fastapi starlette uvicorn pydantic pydantic_core
annotated-types typing-inspection typing_extensions orjson pydub python-multipart pytz safehttpx
semantic-version tomlkit groovy brotli opentelemetry-api mcp httpx-sse jsonschema
jsonschema-specifications referencing rpds-py pydantic-settings python-dotenv sse-starlette SQLAlchemy
alembic Mako plotly captum defusedxml"
PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
--platform manylinux2014_x86_64 --platform manylinux1_x86_64"
LIMIT_BYTES=$((64 * 1024 * 1024))

wheels() {
  local here=${PY_HERE:-python3} tmp pins="" n pin
  [ -z "${PY_HERE:-}" ] && [ -x .venv/bin/python ] && here=.venv/bin/python
  tmp=$(mktemp -d)
  for n in $SITE_PACKAGES; do
    pin=$(grep -i "^$n==" constraints.txt) || { echo "constraints.txt pins no $n" >&2; return 1; }
    pins="$pins $pin"
  done
  # shellcheck disable=SC2086  # word splitting wanted
  "$here" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    $PLATFORMS -d "$tmp/wheels" $pins || return 1
  "$here" -m pip install -q --no-deps --no-compile --only-binary=:all: --python-version 3.12 \
    --implementation cp $PLATFORMS --target "$tmp/site" "$tmp"/wheels/*.whl || return 1
  mkdir -p .whl
  tar -C "$tmp/site" -cf - . | xz -9 -T1 > .whl/site.tar.xz || return 1
  rm -rf "$tmp"
  local tree whl
  tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s}')
  whl=$(stat -c %s .whl/site.tar.xz)
  echo "wrote .whl/site.tar.xz: $((whl / 1024 / 1024)) MiB; with the working tree ($((tree / 1024 / 1024)) MiB)" \
       "a call carries $(((tree + whl) / 1024 / 1024)) MiB of 64"
  if [ $((tree + whl)) -gt $LIMIT_BYTES ]; then echo "too large for one call" >&2; return 1; fi
}

prelude() {  # $1: the part; $2: python modules it must import
  : "${OUT:?run this part on the device machine, where OUT is set}"
  mkdir -p "$OUT/$1"
  export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
  export TRITON_CACHE_DIR=/tmp/spot-triton  # compiled kernels reused by later calls on a warm machine
  export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1  # KINDS.md
  if [ ! -f /tmp/site/.unpacked ]; then
    [ -f .whl/site.tar.xz ] || { echo "no .whl/site.tar.xz: run 'bash bench/gpu_session.sh wheels' here and carry .whl" >&2; return 1; }
    mkdir -p /tmp/site && tar -xJf .whl/site.tar.xz -C /tmp/site && touch /tmp/site/.unpacked || return 1
  fi
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  {
    date -u +%FT%TZ; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    nproc; free -g | sed -n 2p; df -h /tmp | tail -1
    "$PY" -c "import sys, torch, transformers; print(sys.version.split()[0], torch.__version__, transformers.__version__,
torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA')"
  } > "$OUT/$1/machine.txt" 2>&1
  cat "$OUT/$1/machine.txt"
  "$PY" -c "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]; print('imports ok')" $2 \
    2>&1 | tail -5 | tee -a "$OUT/$1/machine.txt"
}

run_py() {  # $1: seconds; $2: folder under $OUT for its log; the rest: the command
  local limit=$1 dir=$2
  shift 2
  mkdir -p "$OUT/$dir"
  echo "+ $*" | tee "$OUT/$dir/run.log"
  timeout -k 15 "$limit" "$PY" "$@" 2>&1 | tee -a "$OUT/$dir/run.log"
}

ENGINE_IMPORTS="torch transformers captum defusedxml explain.attribution explain.decoding bench.batch_bench"
APP_IMPORTS="$ENGINE_IMPORTS gradio gradio_client sqlalchemy alembic plotly mcp demo.ui demo.classroom storage"

case "$PART" in
  wheels) wheels ;;
  check) prelude check "$APP_IMPORTS" ;;
  engine)
    prelude engine "$ENGINE_IMPORTS" || exit 1
    run_py 560 engine bench/batch_bench.py --model 7b --streams 8 --tokens 256 --map occlusion --out "$OUT/engine" ;;
  maps)
    prelude maps "$ENGINE_IMPORTS" || exit 1
    rc=0
    run_py 270 maps/gradient bench/batch_bench.py --model 7b --streams 8 --tokens 256 --skip serial,exactness \
      --map gradient --out "$OUT/maps/gradient" || rc=1
    run_py 270 maps/occlusion-none bench/batch_bench.py --model 7b --streams 8 --tokens 256 --skip serial,exactness \
      --map occlusion --map-turns none --out "$OUT/maps/occlusion-none" || rc=1
    exit $rc ;;
  app)
    prelude app "$APP_IMPORTS" || exit 1
    # the 7B checkpoint (14 GB) stays in /tmp: a retry on the same warm machine reuses it
    run_py 570 app bench/batch_app_bench.py --model 7b --clients 8 --tokens 256 --workdir /tmp/spot-app-bench \
      --out "$OUT/app" ;;
  *) sed -n '2,30p' "$0"; exit 2 ;;
esac
