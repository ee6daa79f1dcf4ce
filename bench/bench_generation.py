"""Generation overhead: `make bench-generation` (PostgreSQL + Redis from scripts/with-services.sh).

Sends N prompts to the embedded model server twice at the same concurrency, in one run:
  direct   - N chat completions straight to the server (a thread pool of C);
  labelhub - one generation batch of the same N prompts: batch → Redis → Celery worker (C
             processes) → server → candidate rows in PostgreSQL.
Reports completion tokens/s of both, their ratio, and the per-job overhead. The direct run is
done before and after the labelhub run and averaged, so drift on a shared machine cancels out.
Last line: `RESULT generation_ratio=<r> overhead_ms=<ms>`.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelhub.settings")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Sum  # noqa: E402

from labelhub.accounts.models import User  # noqa: E402
from labelhub.generation import services  # noqa: E402
from labelhub.generation.models import GenerationJob, JobStatus  # noqa: E402
from labelhub.projects.services import project_create  # noqa: E402
from labelhub.prompts.models import Candidate, Prompt  # noqa: E402

QUESTIONS = [
    "Give one tip for sleeping better.", "What is a prime number?", "Name three colours of the rainbow.",
    "Why do cats purr?", "How do I boil an egg?", "What is the capital of Japan?", "Explain gravity briefly.",
    "Suggest a name for a goldfish.", "What is photosynthesis?", "How far is the Moon?",
    "Write a short greeting for a birthday card.", "What does a CPU do?", "Why is exercise healthy?",
    "What is the boiling point of water?", "Name a famous painter.", "How do bees make honey?",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit(f"{url} did not come up")


def direct_run(base_url: str, payloads: list[dict], concurrency: int) -> tuple[float, int]:
    def one(payload):
        r = httpx.post(f"{base_url}/chat/completions", json=payload, timeout=300)
        r.raise_for_status()
        return r.json()["usage"]["completion_tokens"]

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        tokens = sum(pool.map(one, payloads))
    return time.perf_counter() - start, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n, c = args.prompts, args.concurrency

    call_command("migrate", verbosity=0)
    port = free_port()
    server = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "embedded-model.sh"), "serve", str(port)],
        env={**os.environ, "LLAMA_PARALLEL": str(c)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"
    worker = None
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 1500)
        # The SSRF guard allows loopback by exact host:port only: here and in the worker started below.
        os.environ["INFERENCE_ALLOWED_HOSTS"] = f"127.0.0.1:{port}"
        settings.INFERENCE_ALLOWED_HOSTS = [*settings.INFERENCE_ALLOWED_HOSTS, f"127.0.0.1:{port}"]
        user, _ = User.objects.get_or_create(username="bench-gen", defaults={"is_staff": True})
        project = project_create(user=user, name=f"bench-generation-{int(time.time())}")
        prompts = [
            Prompt.objects.create(
                project=project,
                messages=[{"role": "user", "content": f"{QUESTIONS[i % len(QUESTIONS)]} (#{i})"}],
                text=QUESTIONS[i % len(QUESTIONS)],
                content_hash=f"{i:064d}",
            )
            for i in range(n)
        ]
        config = services.model_config_create(
            project=project,
            data={
                "name": "bench",
                "base_url": base_url,
                "model": "smollm2-135m-instruct",
                "temperature": 0.7,
                "seed": 1234,
                "max_tokens": args.max_tokens,
                "candidates_per_prompt": 1,
            },
        )
        payloads = [
            {
                "model": config.model, "messages": p.messages, "temperature": config.temperature, "top_p": 1.0,
                "max_tokens": config.max_tokens, "seed": config.seed, "n": 1, "stream": False,
            }
            for p in prompts
        ]  # fmt: skip
        # Warm-up over every payload: llama.cpp caches prompts in RAM, so only warm runs compare.
        direct_run(base_url, payloads, c)
        env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "true")}
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "labelhub", "worker", "-Q", "inference", "-c", str(c),
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        time.sleep(5)  # worker boot, outside the measured windows

        direct_tps, direct_walls, lh_tps, lh_walls, in_worker = [], [], [], [], []
        for round_no in range(1, args.rounds + 1):
            wall, tokens = direct_run(base_url, payloads, c)
            direct_tps.append(tokens / wall)
            direct_walls.append(wall)
            print(
                f"round {round_no} direct:   {n} requests, {tokens} tokens in {wall:.2f}s -> {tokens / wall:.1f} tok/s"
            )
            start = time.perf_counter()
            batch = services.generation_batch_create(
                project=project, user=user, config=config, prompt_ids=[p.pk for p in prompts]
            )
            while GenerationJob.objects.filter(batch=batch, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
                time.sleep(0.05)
            wall = time.perf_counter() - start
            failed = GenerationJob.objects.filter(batch=batch, status=JobStatus.FAILED).count()
            if failed:
                sys.exit(f"{failed} jobs failed")
            cands = Candidate.objects.filter(generation_job__batch=batch)
            tokens = cands.aggregate(t=Sum("completion_tokens"))["t"]
            lh_tps.append(tokens / wall)
            lh_walls.append(wall)
            for job_started, job_finished, latency in cands.values_list(
                "generation_job__started_at", "generation_job__finished_at", "latency_ms"
            ):
                in_worker.append((job_finished - job_started).total_seconds() * 1000 - latency)
            print(
                f"round {round_no} labelhub: {n} jobs,     {tokens} tokens in {wall:.2f}s -> {tokens / wall:.1f} tok/s"
            )

        def median(values):
            values = sorted(values)
            return values[len(values) // 2] if len(values) % 2 else sum(values[len(values) // 2 - 1 :][:2]) / 2

        ratio = median(lh_tps) / median(direct_tps)
        overhead_ms = max(0.0, (median(lh_walls) - median(direct_walls)) * 1000 * c / n)
        print(f"tokens/s ratio labelhub/direct (medians): {ratio:.3f}")
        print(
            f"per-job overhead (wall, per slot): {overhead_ms:.1f} ms; "
            f"inside the worker (claim + store, median): {median(in_worker):.1f} ms"
        )
        print(f"RESULT generation_ratio={ratio:.3f} overhead_ms={overhead_ms:.0f}")
    finally:
        for proc in (worker, server):
            if proc is not None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)


if __name__ == "__main__":
    main()
