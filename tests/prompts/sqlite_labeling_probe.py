"""Run by tests/prompts/test_import_does_not_block_labeling.py in processes of their own, with
DATABASE_URL pointing at a fresh SQLite file (the suite itself runs on PostgreSQL).

`probe.py WORKDIR LINES`: migrate, make a project a labeler can work in, then start a second
process (`probe.py import ...`, as a Celery worker would run it) that imports LINES prompts, and
meanwhile label through the API: a fresh token, its first use (which writes its last-used time),
a claim and a submit, again and again. Prints JSON: the import's outcome and duration, the
slowest of those writes, and every response that was neither 2xx nor 204."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelhub.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from labelhub.accounts.models import User  # noqa: E402
from labelhub.accounts.services import api_token_create  # noqa: E402
from labelhub.labeling.services import work_items_sync  # noqa: E402
from labelhub.projects import services as projects  # noqa: E402
from labelhub.projects.models import Project, Role  # noqa: E402
from labelhub.prompts import services as imports  # noqa: E402


def _import(project: Project, user: User, path: Path) -> dict:
    data = path.read_bytes()
    spooled, size, lines = imports.spool_upload(chunks=iter([data]), max_bytes=len(data))
    imp = imports.prompt_import_create(
        project=project, user=user, path=spooled, filename=path.name, file_format="jsonl", size=size, lines=lines
    )
    started = time.monotonic()
    imp = imports.prompt_import_run(import_id=imp.pk)
    return {"status": imp.status, "created": imp.created_count, "import_seconds": round(time.monotonic() - started, 1)}


def _file(path: Path, prefix: str, n: int) -> Path:
    with open(path, "w") as out:
        for i in range(n):
            out.write(json.dumps({"prompt": f"{prefix} {i}: " + "lorem ipsum " * 20, "tags": ["t"]}) + "\n")
    return path


def _round(client: Client, project: Project, labeler: User) -> list[tuple[float, int, str]]:
    """(seconds, status, body) of each write: a token, its first use, a claim, a submit."""
    timed = []

    def timed_call(call, *args, **kwargs):
        started = time.monotonic()
        result = call(*args, **kwargs)
        response = result if hasattr(result, "status_code") else None
        timed.append((time.monotonic() - started, response.status_code if response else 201, ""))
        if response is not None and response.status_code not in (200, 201, 204):
            timed[-1] = (timed[-1][0], response.status_code, response.content[:200].decode())
        return result

    _token, key = timed_call(api_token_create, user=labeler, name="probe")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    timed_call(client.get, "/api/v1/projects", **auth)
    claim = timed_call(
        client.post, f"/api/v1/projects/{project.pk}/work/next", {"kind": "demonstration"}, "application/json", **auth
    )
    if claim.status_code == 200:
        url = f"/api/v1/work-items/{claim.json()['id']}/demonstration"
        timed_call(client.post, url, {"content": "Ideal."}, "application/json", **auth)
    return timed


def main(workdir: Path, lines: int) -> dict:
    call_command("migrate", verbosity=0)
    staff = User.objects.create_user("staff", is_staff=True)
    labeler = User.objects.create_user("labeler")
    project = projects.project_create(user=staff, name="SQLite")
    projects.membership_add(project=project, username="labeler", role=Role.LABELER)
    version = projects.guideline_version_publish(project=project, user=staff, change_note="v1", content="# Be kind")
    projects.guideline_acknowledge(project=project, user=labeler, number=version.number)
    _import(project, staff, _file(workdir / "first.jsonl", "First", 300))
    work_items_sync(project=project)
    big = _file(workdir / "big.jsonl", "Big", lines)
    client = Client()
    _round(client, project, labeler)  # warm: the first request imports and builds what the others reuse

    args = [sys.executable, __file__, "import", str(project.pk), str(staff.pk), str(big)]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    slowest, bad, writes = 0.0, [], 0
    time.sleep(1)
    while child.poll() is None:
        for seconds, status, body in _round(client, project, labeler):
            slowest, writes = max(slowest, seconds), writes + 1
            if status not in (200, 201, 204):
                bad.append((status, body))
        time.sleep(0.1)
    outcome = json.loads(child.stdout.read())
    return {**outcome, "slowest_write_seconds": round(slowest, 2), "writes": writes, "bad_responses": bad}


if __name__ == "__main__":
    if sys.argv[1] == "import":
        project = Project.objects.get(pk=int(sys.argv[2]))
        print(json.dumps(_import(project, User.objects.get(pk=int(sys.argv[3])), Path(sys.argv[4]))))
    else:
        print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]))))
