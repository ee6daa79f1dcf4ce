"""Run by tests/exports/test_held_out_sqlite.py in a process of its own, with DATABASE_URL pointing at
a fresh SQLite file (the suite itself runs on PostgreSQL): the SQLite twin of the export's work-item
read (`exports.selectors._work_items`) with the leak guard. Prints JSON: the prompt ids of the rows of
each export, and the manifest-like counts."""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelhub.settings")
django.setup()

from django.core.management import call_command  # noqa: E402

from labelhub.core.db import consistent_read  # noqa: E402
from labelhub.exports.selectors import ExportStats, export_lines, export_params_for_project  # noqa: E402
from labelhub.labeling.models import WorkItem  # noqa: E402
from labelhub.projects import services as projects  # noqa: E402
from labelhub.projects.models import Role  # noqa: E402
from labelhub.prompts.models import Prompt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.exports import builders as b  # noqa: E402
from tests.factories import UserFactory  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    staff = UserFactory(username="staff", is_staff=True)
    project = projects.project_create(user=staff, name="SQLite")
    alice = UserFactory(username="alice")
    projects.membership_add(project=project, username="alice", role=Role.LABELER)
    version = projects.guideline_version_publish(project=project, user=staff, change_note="v1", content="# v1")
    kept, _ = b.prompt(project, "Kept")
    held, (condemned,) = b.prompt(project, "Held", candidates=[("It is 5.", "m")])
    b.label(b.demonstration_item(project, kept), alice, version, content="Kept answer.")
    b.label(b.demonstration_item(project, held), alice, version, content="Held answer.")
    fix = WorkItem.objects.create(
        project=project, prompt=held, kind="demonstration", purpose="fix", overlap=1, candidate_ids=[condemned.pk],
        origin={"evaluation_run": 1, "evaluation_set": 2, "triage": 3},
    )  # fmt: skip
    b.label(fix, alice, version, content="Fixed answer.", source_candidate=condemned)
    Prompt.objects.filter(pk=held.pk).update(held_out=True)
    out = {"kept": kept.pk, "held": held.pk}
    for name, raw in (("default", {}), ("included", {"include_held_out": ["true"]})):
        params = export_params_for_project(project=project, kind="sft", raw={"metadata": ["true"], **raw})
        stats = ExportStats()
        with consistent_read():
            rows = [json.loads(line) for line in export_lines(project=project, params=params, stats=stats)]
        out[name] = {
            "rows": [[r["metadata"]["prompt_id"], r["metadata"].get("triage")] for r in rows],
            "held_out": stats.held_out_manifest(params),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
