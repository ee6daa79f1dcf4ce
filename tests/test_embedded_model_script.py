"""scripts/embedded-model.sh starts the model server as a polite neighbour of the web app: fewer
threads than cores and a lower CPU priority (a stand-in server binary records how it was started;
nothing is built or downloaded: the cache already holds both files)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "embedded-model.sh"


def _serve(tmp_path, **env) -> tuple[list[str], int]:
    cache = tmp_path / "cache"
    (cache / "llama-server-11434.0.0").mkdir(parents=True)
    (cache / "models").mkdir()
    (cache / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"gguf")
    server = cache / "llama-server-11434.0.0" / "llama-server"
    record = tmp_path / "record"
    server.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\nnice > {record}.nice\n')
    server.chmod(0o755)
    subprocess.run(
        ["bash", str(SCRIPT), "serve", "8999"],
        env={**os.environ, "LABELHUB_CACHE": str(cache), **env},
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    own_nice = int(subprocess.run(["nice"], capture_output=True, text=True, check=True).stdout)
    return record.read_text().split("\n"), int((tmp_path / "record.nice").read_text()) - own_nice


def test_the_model_server_takes_half_the_cores_at_a_lower_priority(tmp_path):
    args, niceness = _serve(tmp_path)
    assert args[args.index("--threads") + 1] == str(max(1, len(os.sched_getaffinity(0)) // 2))
    assert niceness == 10
    assert args[args.index("--port") + 1] == "8999" and args[args.index("--host") + 1] == "127.0.0.1"


def test_threads_and_priority_can_be_set(tmp_path):
    args, niceness = _serve(tmp_path, LLAMA_THREADS="3", LLAMA_NICE="0")
    assert args[args.index("--threads") + 1] == "3"
    assert niceness == 0
