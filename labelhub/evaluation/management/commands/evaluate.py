"""Evaluation from the shell, for CI pipelines that gate a checkpoint on a run.

    manage.py evaluate sets 3                                   # the project's evaluation sets
    manage.py evaluate create-set 3 --name held-out --tag eval --sample 200 --seed 7
    manage.py evaluate run 5 --model candidate-ckpt --baseline config:prod-model --labels-per-pair 3
    manage.py evaluate status 12                                # progress as JSON
    manage.py evaluate report 12 --require not-worse --fail-on-alarm   # exit 1 when the gate fails
    manage.py evaluate cancel 12 / resume 12

Exit codes of `report`: 0 the gate passes, 1 it fails, 2 the run is not finished (or has too little data
to decide) — with `--wait SECONDS` it polls until the run finishes or the time is up.
"""

import time

import orjson
from django.core.management.base import BaseCommand, CommandError

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError
from labelhub.generation.models import ModelConfig
from labelhub.projects.models import Project

from ...models import BaselineKind, EvaluationRun, EvaluationSet
from ...selectors.report import evaluation_report
from ...selectors.runs import evaluation_run_progress
from ...services.runs import evaluation_run_cancel, evaluation_run_create, evaluation_run_resume
from ...services.sets import evaluation_set_create

REQUIREMENTS = ("better", "not-worse", "none")


class GateResult(Exception):
    def __init__(self, code: int):
        self.code = code


class Command(BaseCommand):
    help = "Evaluation sets and runs from the shell; `report` exits non-zero when a run fails its gate."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Username recorded as the creator (default: none).")
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("sets", help="List a project's evaluation sets.").add_argument("project_id", type=int)
        create = sub.add_parser("create-set", help="Freeze a new evaluation set (or the next version of one).")
        create.add_argument("project_id", type=int)
        create.add_argument("--name", required=True)
        create.add_argument("--description", default="")
        create.add_argument("--tag", action="append", default=[], help="Prompts with this tag (repeatable: all).")
        create.add_argument("--track", default="")
        create.add_argument("--ids", default="", help="Comma-separated prompt ids.")
        create.add_argument("--sample", type=int, help="A random sample of this many of the chosen prompts.")
        create.add_argument("--seed", type=int)
        run = sub.add_parser("run", help="Start a run: a model config against a baseline on a set.")
        run.add_argument("set_id", type=int)
        run.add_argument("--model", required=True, help="Model config id or name (the model under test).")
        run.add_argument("--baseline", required=True, help="config:<id or name> | reference | run:<run number>")
        run.add_argument("--labels-per-pair", type=int, default=1)
        run.add_argument("--min-win-rate", type=float, help="Alarm when a track's score is below this.")
        for name in ("status", "cancel", "resume"):
            sub.add_parser(name, help=f"{name.capitalize()} a run.").add_argument("run_id", type=int)
        report = sub.add_parser("report", help="Print a run's report and apply a gate (exit code).")
        report.add_argument("run_id", type=int)
        report.add_argument("--require", choices=REQUIREMENTS, default="not-worse")
        report.add_argument("--fail-on-alarm", action="store_true")
        report.add_argument("--wait", type=float, default=0, metavar="SECONDS")
        report.add_argument("--json", action="store_true", help="Print the whole report as JSON.")

    def handle(self, *args, action, user=None, **options):
        creator = self._user(user)
        try:
            getattr(self, "_" + action.replace("-", "_"))(creator, **options)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {orjson.dumps(exc.extra).decode() if exc.extra else ''}") from exc
        except GateResult as result:
            raise SystemExit(result.code) from None

    def _user(self, username):
        if not username:
            return None
        found = User.objects.filter(username=username).first()
        if found is None:
            raise CommandError(f"No user {username!r}.")
        return found

    def _json(self, value) -> None:
        self.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())

    def _sets(self, user, *, project_id, **_):
        for s in EvaluationSet.objects.filter(project_id=project_id).order_by("name", "-version"):
            self.stdout.write(f"{s.pk}\t{s.name} v{s.version}\t{s.prompt_count} prompts")

    def _create_set(self, user, *, project_id, name, description, tag, track, ids, sample, seed, **_):
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project {project_id}.")
        try:
            prompt_ids = [int(x) for x in ids.split(",") if x.strip()] or None
        except ValueError as exc:
            raise CommandError("--ids: comma-separated prompt ids.") from exc
        created = evaluation_set_create(
            project=project, user=user, name=name, description=description, tags=tuple(tag), track=track,
            prompt_ids=prompt_ids, sample=sample, seed=seed,
        )  # fmt: skip
        self.stdout.write(f"set {created.pk}: {created.name} v{created.version}, {created.prompt_count} prompts")

    def _config(self, project_id: int, ref: str) -> ModelConfig:
        configs = ModelConfig.objects.filter(project_id=project_id)
        found = configs.filter(pk=int(ref)).first() if ref.isdigit() else configs.filter(name=ref).first()
        if found is None:
            raise CommandError(f"No model config {ref!r} in project {project_id}.")
        return found

    def _run(self, user, *, set_id, model, baseline, labels_per_pair, min_win_rate, **_):
        evaluation_set = EvaluationSet.objects.filter(pk=set_id).first()
        if evaluation_set is None:
            raise CommandError(f"No evaluation set {set_id}.")
        kind, _sep, ref = baseline.partition(":")
        extra = {}
        if kind == BaselineKind.CONFIG:
            extra["baseline_config"] = self._config(evaluation_set.project_id, ref)
        elif kind == BaselineKind.RUN:
            extra["baseline_run"] = EvaluationRun.objects.filter(evaluation_set=evaluation_set, number=ref).first()
            if not ref.isdigit() or extra["baseline_run"] is None:
                raise CommandError(f"No run {ref!r} of set {set_id}.")
        elif kind != BaselineKind.REFERENCE or ref:
            raise CommandError("--baseline: config:<id or name>, reference or run:<number>.")
        run = evaluation_run_create(
            evaluation_set=evaluation_set, user=user, model_config=self._config(evaluation_set.project_id, model),
            baseline_kind=kind, labels_per_pair=labels_per_pair,
            thresholds={"min_win_rate": min_win_rate} if min_win_rate is not None else None, **extra,
        )  # fmt: skip
        self.stdout.write(f"run {run.pk}: number {run.number} of {evaluation_set}, {run.status}")

    def _get_run(self, run_id: int) -> EvaluationRun:
        run = EvaluationRun.objects.filter(pk=run_id).select_related("evaluation_set").first()
        if run is None:
            raise CommandError(f"No evaluation run {run_id}.")
        return run

    def _status(self, user, *, run_id, **_):
        run = self._get_run(run_id)
        self._json({"run": run.pk, "status": run.status, "progress": evaluation_run_progress(run=run)})

    def _cancel(self, user, *, run_id, **_):
        run = evaluation_run_cancel(run=self._get_run(run_id), user=user)
        self.stdout.write(f"run {run.pk}: {run.status}")

    def _resume(self, user, *, run_id, **_):
        run = evaluation_run_resume(run=self._get_run(run_id), user=user)
        self.stdout.write(f"run {run.pk}: {run.status}")

    def _report(self, user, *, run_id, require, fail_on_alarm, wait, json, **_):
        deadline = time.monotonic() + wait
        run = self._get_run(run_id)
        while not run.is_finished and time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))
            run.refresh_from_db()
        report = evaluation_report(run=run)
        if json:
            self._json(report)
        verdict, code = gate(report, finished=run.is_finished, require=require, fail_on_alarm=fail_on_alarm)
        self.stdout.write(verdict)
        raise GateResult(code)


def gate(report: dict, *, finished: bool, require: str, fail_on_alarm: bool) -> tuple[str, int]:
    """(what to print, exit code) for a run's report and a requirement on its score's interval."""
    score = (report.get("overall") or {}).get("score") or {}
    low, high, value = score.get("low"), score.get("high"), score.get("value")
    shown = "not enough data" if value is None else f"score {value:.3f} [{low:.3f}, {high:.3f}] (n={score.get('n')})"
    if not finished:
        return f"UNDECIDED: the run is not finished ({shown}).", 2
    alarms = [a for a in report.get("alarms") or () if a.get("level") == "alarm"]
    if fail_on_alarm and alarms:
        return "FAIL: " + "; ".join(a.get("message", a.get("kind", "")) for a in alarms), 1
    if require == "none":
        return f"PASS: {shown}.", 0
    if value is None:
        return f"UNDECIDED: {shown}.", 2
    if require == "better" and low <= 0.5:
        return f"FAIL: not shown better than the baseline: {shown}.", 1
    if require == "not-worse" and high < 0.5:
        return f"FAIL: worse than the baseline: {shown}.", 1
    return f"PASS: {shown}.", 0
