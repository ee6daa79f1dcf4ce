"""Exports from the shell: stream a dataset to a file or stdout, freeze a snapshot, list snapshots.

    manage.py export 3 preferences --option format=trl-preference --option pairs=adjacent -o prefs.jsonl
    manage.py export 3 sft --snapshot          # written here and now (no worker), manifest printed
    manage.py export 3 --list                  # the project's snapshots with their files

Options are the query parameters of /api/v1/projects/<id>/exports/<kind>.jsonl, validated the same way.
"""

import sys

import orjson
from django.core.management.base import BaseCommand, CommandError

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError
from labelhub.exports import selectors, services
from labelhub.exports.models import ExportSnapshot
from labelhub.exports.params import KINDS
from labelhub.projects.models import Project


class Command(BaseCommand):
    help = "Export a project's labels as JSONL (stream or frozen snapshot), or list its snapshots."

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int)
        parser.add_argument("kind", nargs="?", choices=KINDS)
        parser.add_argument(
            "--option", "-O", action="append", default=[], metavar="KEY=VALUE", help="An export option; repeatable."
        )
        parser.add_argument("--output", "-o", help="Write the stream to this file (default: stdout).")
        parser.add_argument("--snapshot", action="store_true", help="Freeze a snapshot (runs here, no worker needed).")
        parser.add_argument("--user", help="Username recorded as the snapshot's creator.")
        parser.add_argument("--list", action="store_true", help="List the project's snapshots.")

    def handle(self, *args, project_id, kind, option, output, snapshot, user, list, **kwargs):
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project {project_id}.")
        if list:
            return self._list(project)
        if not kind:
            raise CommandError(f"Give a kind: {', '.join(KINDS)} (or --list).")
        raw: dict[str, list[str]] = {}
        for item in option:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--option {item!r}: expected KEY=VALUE.")
            raw.setdefault(key.strip(), []).append(value)
        try:
            if snapshot:
                return self._snapshot(project, kind, raw, user)
            params = selectors.export_params_for_project(project=project, kind=kind, raw=raw)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {orjson.dumps(exc.extra).decode() if exc.extra else ''}") from exc
        out = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115 - closed below
        try:
            for chunk in selectors.export_stream(project=project, params=params):
                out.write(chunk)
        finally:
            if output:
                out.close()
            else:
                out.flush()

    def _snapshot(self, project, kind, raw, username):
        creator = User.objects.filter(username=username).first() if username else None
        if username and creator is None:
            raise CommandError(f"No user {username!r}.")
        snap = services.snapshot_create(project=project, user=creator, kind=kind, raw=raw, send=False)
        snap = services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id)
        if snap.status != "done":
            raise CommandError(f"Snapshot {snap.pk} failed: {snap.error}")
        self.stdout.write(orjson.dumps(snap.manifest, option=orjson.OPT_INDENT_2).decode())
        self.stdout.write(f"file: {services.snapshot_path(snap)}")

    def _list(self, project):
        for snap in ExportSnapshot.objects.filter(project=project).order_by("-id")[:100]:
            where = services.snapshot_path(snap) if snap.status == "done" else snap.error or ""
            self.stdout.write(
                f"{snap.pk:>6}  {snap.status:<8} {snap.kind:<11} {snap.format:<24} rows={snap.rows:<9} "
                f"{snap.created_at:%Y-%m-%d %H:%M}  {where}"
            )
