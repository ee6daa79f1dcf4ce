"""Load a demo project: guidelines v1, ~30 prompts across the three tracks, and demo users.

Idempotent: running it again keeps the data and resets the demo passwords (printed at the end).
Passwords come from DEMO_PASSWORD when set, else are generated. For local use only.
"""

import os
import secrets
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError
from labelhub.generation import services as generation_services
from labelhub.generation.models import GenerationBatch, ModelConfig
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
        configs = self._model_configs(project)
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
