"""Load a demo project: guidelines v1, ~30 prompts across the three tracks, and demo users.

Idempotent: running it again keeps the data and resets the demo passwords (printed at the end).
Passwords come from DEMO_PASSWORD when set, else are generated. For local use only.
"""

import os
import secrets
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError
from labelhub.generation import services as generation_services
from labelhub.generation.models import GenerationBatch, ModelConfig
from labelhub.labeling import services as labeling_services
from labelhub.labeling.models import Assignment, Label, WorkItem, WorkKind
from labelhub.projects import services as project_services
from labelhub.projects.models import GuidelineVersion, Membership, Project, Role
from labelhub.prompts import services as prompt_services
from labelhub.prompts.models import ImportStatus

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
PROJECT_NAME = "Demo: helpful, truthful, harmless"
USERS = [
    ("admin", Role.ADMIN, True),
    ("labeler1", Role.LABELER, False),
    ("labeler2", Role.LABELER, False),
    ("reviewer", Role.REVIEWER, False),
    ("engineer", Role.ENGINEER, False),
]

# Demo labels (marked demo): (prompt id, labeler) → (ideal answer, written by fixing the prompt's
# second candidate?); prompt id → (first candidate is best?, strength of labeler1, labeler2).
DEMO_DEMONSTRATIONS = {
    ("demo-001", "labeler1"): (
        "Grey Monday sky —\nrain taps the window, the kettle\nsings the week awake.",
        True,
    ),
    ("demo-002", "labeler1"): (
        "Two young lovers from feuding families in Verona marry in secret. A chain of misunderstandings "
        "ends with both taking their own lives, which finally reconciles their families.",
        False,
    ),
    ("demo-003", "labeler2"): (
        "Use slicing or `reversed()`; both leave the original untouched:\n\n```python\nitems = [1, 2, 3]\n"
        "backwards = items[::-1]          # a new list\nbackwards = list(reversed(items))  # same result\n```",
        False,
    ),
    ("demo-005", "labeler2"): (
        "A hash function is like a blender for information: put in any text and it always makes the same "
        "short code for it, but you can't turn the code back into the text. Computers use it to check that "
        "files haven't changed and to find things quickly.",
        False,
    ),
}
DEMO_RANKINGS = {
    "demo-001": (True, ("much_better", "better")),
    "demo-013": (True, ("much_better", "much_better")),
    "demo-023": (True, ("much_better", "better")),
}


class Command(BaseCommand):
    help = "Create (or refresh) the demo project and demo users; prints the logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--generate",
            action="store_true",
            help="Also queue candidate generation for prompts that have fewer than two candidates (first run only).",
        )

    def handle(self, *args, generate=False, **options):
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
        with transaction.atomic():
            users = {}
            for username, _role, staff in USERS:
                user, _ = User.objects.get_or_create(username=username, defaults={"display_name": username.title()})
                user.is_staff = staff
                user.is_superuser = staff
                user.set_password(password)
                user.save()
                users[username] = user
            project = Project.objects.filter(name=PROJECT_NAME).first()
            if project is None:
                project = project_services.project_create(
                    user=users["admin"],
                    name=PROJECT_NAME,
                    description=(
                        "A demo project: prompts on the helpful, harmless and red-team tracks, "
                        "guidelines that explain helpful / truthful / harmless."
                    ),
                )
            for username, role, _staff in USERS:
                Membership.objects.update_or_create(project=project, user=users[username], defaults={"role": role})
            if not GuidelineVersion.objects.filter(project=project).exists():
                project_services.guideline_version_publish(
                    project=project,
                    user=users["admin"],
                    change_note="First version.",
                    content=(DEMO_DIR / "guidelines_v1.md").read_text(encoding="utf-8"),
                )
        # The import runs through the same service as an upload.
        fd, tmp = tempfile.mkstemp(suffix=".jsonl")
        os.close(fd)
        shutil.copyfile(DEMO_DIR / "prompts.jsonl", tmp)
        with open(tmp, "rb") as src:
            path, size, lines = prompt_services.spool_upload(
                chunks=iter(lambda: src.read(1 << 16), b""), max_bytes=1 << 24
            )
        os.unlink(tmp)
        imp = prompt_services.prompt_import_create(
            project=project,
            user=users["admin"],
            path=path,
            filename="demo-prompts.jsonl",
            file_format="jsonl",
            size=size,
            lines=lines,
        )
        imp = prompt_services.prompt_import_run(import_id=imp.pk)
        if imp.status != ImportStatus.DONE:
            self.stderr.write(f"Demo prompt import failed: {imp.message} {imp.errors[:3]}")
        from labelhub.labeling.services import work_items_sync

        built = work_items_sync(project=project)
        self.stdout.write(
            f"  work items: {built['demonstration']} demonstration(s), {built['comparison']} comparison(s) added"
        )
        made = self._demo_labels(project, users)
        if made:
            self.stdout.write(f"  demo labels: {made}, by labeler1 and labeler2 (marked demo)")
            # The dashboard has something to show at once (a worker refreshes it as labels arrive).
            from labelhub.quality.services import project_stats_refresh

            project_stats_refresh(project_id=project.pk)
        configs = self._model_configs(project)
        self._demo_evaluation(project, users, configs)
        if generate and not GenerationBatch.objects.filter(project=project).exists():
            for config, k in zip(configs, (1, 2), strict=True):
                try:
                    batch = generation_services.generation_batch_create(
                        project=project, user=users["admin"], config=config, fewer_than=k
                    )
                    self.stdout.write(f"  queued {batch.job_count} candidate(s) from {config.name}")
                except ApplicationError as exc:
                    self.stdout.write(f"  {config.name}: {exc.message}")
        self.stdout.write(self.style.SUCCESS(f"Demo project #{project.pk}: {project.name}"))
        self.stdout.write(f"  prompts: {imp.created_count} new, {imp.skipped_count} already there")
        self.stdout.write("  Demo logins (local use only):")
        for username, role, _staff in USERS:
            self.stdout.write(f"    {username:<10} {password}   ({role}{', site staff' if _staff else ''})")

    def _demo_labels(self, project, users) -> int:
        """A few demonstrations and rankings by the demo labelers (Label.demo = True), so every export
        format has rows right after `make run`. They go through the submit services (validation,
        diffs, counters) on assignments made here instead of claimed, so the choice of items is fixed.
        Skipped when the project already has labels."""
        if Label.objects.filter(project=project).exists():
            return 0
        version = GuidelineVersion.objects.filter(project=project).order_by("-number").first()
        items = {
            (item.prompt.external_id, item.kind): item
            for item in WorkItem.objects.filter(project=project).select_related("prompt")
        }
        labeler1, labeler2 = users["labeler1"], users["labeler2"]
        made = 0
        with transaction.atomic():
            for (external_id, user), (content, fix) in DEMO_DEMONSTRATIONS.items():
                item = items.get((external_id, WorkKind.DEMONSTRATION))
                if item is None:
                    continue
                second = item.prompt.candidates.order_by("id").values_list("pk", flat=True)[1:2]
                source = next(iter(second), None) if fix else None
                assignment = self._assign(item, users[user], version)
                labeling_services.demonstration_submit(
                    user=users[user], content=content, source_candidate_id=source, assignment_id=assignment.pk
                )
                made += 1
            for external_id, (best_first, strengths) in DEMO_RANKINGS.items():
                item = items.get((external_id, WorkKind.COMPARISON))
                if item is None:
                    continue
                ids = [str(c) for c in item.candidate_ids]
                ordered = ids if best_first else ids[::-1]
                for user, strength in zip((labeler1, labeler2), strengths, strict=True):
                    assignment = self._assign(item, user, version)
                    payload = {
                        "ranks": {cid: rank for rank, cid in enumerate(ordered, start=1)},
                        "ratings": {
                            cid: {"helpful": 6 - 3 * i, "truthful": 6 - 2 * i, "harmless": 7 - 4 * i}
                            for i, cid in enumerate(ordered)
                        },
                        "rationale": "Demo ranking made by seed_demo.",
                    }
                    if len(ids) == 2:
                        payload["strength"] = strength
                    if item.prompt.track in ("harmless", "red-team"):
                        payload["safety"] = {cid: "safe" if i == 0 else "unsafe" for i, cid in enumerate(ordered)}
                    labeling_services.ranking_submit(user=user, payload=payload, assignment_id=assignment.pk)
                    made += 1
            Label.objects.filter(project=project).update(demo=True)
        return made

    def _demo_evaluation(self, project, users, configs) -> None:
        """A held-out set and a finished run with its report and triage (labelhub/evaluation/demo.py);
        skipped when the project has evaluation sets already."""
        from labelhub.evaluation.demo import demo_evaluation_create

        run = demo_evaluation_create(project=project, users=users, configs=configs, assign=self._assign)
        if run is not None:
            self.stdout.write(
                f'  evaluation demo: set "{run.evaluation_set.name}" ({run.evaluation_set.prompt_count} prompts '
                f"held out), run #{run.pk} {run.status}, {run.triage_items.count()} triage item(s)"
            )

    @staticmethod
    def _assign(item, user, version):
        now = timezone.now()
        WorkItem.objects.filter(pk=item.pk).update(taken=F("taken") + 1)
        return Assignment.objects.create(
            work_item=item,
            user=user,
            claimed_at=now - timedelta(seconds=45),
            lease_expires_at=now + timedelta(minutes=30),
            display_order=list(item.candidate_ids),
            guideline_version=version,
        )

    def _model_configs(self, project):
        """Two configs of the default model at different temperatures (as Llama 2 did, to diversify
        pairs), pointing at INFERENCE_BASE_URL (the embedded server under `make run`)."""
        configs = []
        for name, temperature in (("Default model · T=0.7", 0.7), ("Default model · T=1.0", 1.0)):
            data = {
                "base_url": settings.INFERENCE_BASE_URL,
                "model": settings.INFERENCE_MODEL,
                "temperature": temperature,
                "max_tokens": 256,
                "candidates_per_prompt": 1,
                "system_prompt": "You are a helpful, truthful and harmless assistant. Answer concisely.",
            }
            config = ModelConfig.objects.filter(project=project, name=name).first()
            if config is None:
                config = generation_services.model_config_create(project=project, data={"name": name, **data})
            else:
                config = generation_services.model_config_update(config=config, data=data)
            configs.append(config)
        return configs
