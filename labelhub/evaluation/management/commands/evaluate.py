"""Evaluation from the shell, for CI pipelines that gate a checkpoint on a run.

    manage.py evaluate sets 3                                   # the project's evaluation sets
    manage.py evaluate create-set 3 --name held-out --tag eval --sample 200 --seed 7
    manage.py evaluate run 5 --model candidate-ckpt --baseline config:prod-model --labels-per-pair 3
    manage.py evaluate status 12                                # progress as JSON
    manage.py evaluate report 12 --require not-worse --fail-on-alarm   # exit 1 when the gate fails
    manage.py evaluate cancel 12 / resume 12
    manage.py evaluate triage 12                                # the run's triage items
    manage.py evaluate triage-decide 4 fix --user reviewer      # fix | wont_fix | duplicate --duplicate-of 3

`--user` (any subcommand): the user recorded as the creator; `triage-decide` needs one who may triage
(an admin or reviewer of the project).

Exit codes of `report`: 0 the gate passes, 1 it fails, 2 the run is not finished (or has too little data
to decide) — with `--wait SECONDS` it polls until the run finishes or the time is up. `report` prints a
summary and the verdict; with `--json` the whole report goes to stdout and the verdict to stderr.
"""

import argparse
import time

import orjson
from django.core.management.base import BaseCommand, CommandError

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError
from labelhub.generation.models import ModelConfig
from labelhub.projects.models import Project

from ...models import BaselineKind, EvaluationRun, EvaluationSet, TriageItem, TriageStatus
from ...selectors.report import evaluation_report
from ...selectors.runs import evaluation_run_progress
from ...services.runs import evaluation_run_cancel, evaluation_run_create, evaluation_run_resume
from ...services.sets import evaluation_set_create
from ...services.triage import triage_decide

REQUIREMENTS = ("better", "not-worse", "none")


class GateResult(Exception):
    def __init__(self, code: int):
        self.code = code


class Command(BaseCommand):
    help = "Evaluation sets and runs from the shell; `report` exits non-zero when a run fails its gate."

    def add_arguments(self, parser):
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument("--user", help="Username recorded as the creator (triage-decide: who decides).")
        sub = parser.add_subparsers(dest="action", required=True)

        def command(name, help_text):
            return sub.add_parser(name, help=help_text, parents=[common])

        command("sets", "List a project's evaluation sets.").add_argument("project_id", type=int)
        create = command("create-set", "Freeze a new evaluation set (or the next version of one).")
        create.add_argument("project_id", type=int)
        create.add_argument("--name", required=True)
        create.add_argument("--description", default="")
        create.add_argument("--tag", action="append", default=[], help="Prompts with this tag (repeatable: all).")
        create.add_argument("--track", default="")
        create.add_argument("--ids", default="", help="Comma-separated prompt ids.")
        create.add_argument("--sample", type=int, help="A random sample of this many of the chosen prompts.")
        create.add_argument("--seed", type=int)
        run = command("run", "Start a run: a model config against a baseline on a set.")
        run.add_argument("set_id", type=int)
        run.add_argument("--model", required=True, help="Model config id or name (the model under test).")
        run.add_argument("--baseline", required=True, help="config:<id or name> | reference | run:<run number>")
        run.add_argument("--labels-per-pair", type=int, default=1)
        run.add_argument("--min-win-rate", type=float, help="Alarm when a track's score is below this.")
        for name in ("status", "cancel", "resume"):
            command(name, f"{name.capitalize()} a run.").add_argument("run_id", type=int)
        report = command("report", "Print a run's report and apply a gate (exit code).")
        report.add_argument("run_id", type=int)
        report.add_argument("--require", choices=REQUIREMENTS, default="not-worse")
        report.add_argument("--fail-on-alarm", action="store_true")
        report.add_argument("--wait", type=float, default=0, metavar="SECONDS")
        report.add_argument("--json", action="store_true", help="Print the whole report as JSON.")
        command("triage", "List a run's triage items.").add_argument("run_id", type=int)
        decide = command("triage-decide", "Decide a triage item (fix makes a fix-it demonstration task).")
        decide.add_argument("item_id", type=int)
        decide.add_argument("status", choices=[s.value for s in TriageStatus if s != TriageStatus.OPEN])
        decide.add_argument("--note", default="")
        decide.add_argument("--duplicate-of", type=int, help="The item this one duplicates (status duplicate).")

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
            runs = EvaluationRun.objects.filter(evaluation_set=evaluation_set)
            extra["baseline_run"] = runs.filter(number=int(ref)).first() if ref.isdigit() else None
            if extra["baseline_run"] is None:
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
        verdict, code = gate(report, finished=run.is_finished, require=require, fail_on_alarm=fail_on_alarm)
        if json:
            self._json(report)
            self.stderr.write(verdict)
        else:
            self._summary(run, report)
            self.stdout.write(verdict)
        raise GateResult(code)

    def _summary(self, run: EvaluationRun, report: dict) -> None:
        baseline = run.baseline_config.name if run.baseline_config_id else run.get_baseline_kind_display()
        overall = report.get("overall") or {}
        self.stdout.write(
            f"run {run.pk} (#{run.number} of {run.evaluation_set}): {run.model_config.name} vs {baseline}, "
            f"{run.status}; {overall.get('n_pairs', 0)} pairs, {overall.get('n_labels', 0)} labels"
        )
        controlled = ((report.get("style") or {}).get("controlled")) or {}
        if controlled.get("value") is not None:
            self.stdout.write(f"  at equal style: {_shown(controlled)}")
        for alarm in report.get("alarms") or ():
            self.stdout.write(f"  {alarm.get('level')}: {alarm.get('message')}")

    def _triage(self, user, *, run_id, **_):
        run = self._get_run(run_id)
        items = TriageItem.objects.filter(run=run).select_related("prompt").order_by("id")
        for item in items:
            text = " ".join(item.prompt.text.split())[:60]
            self.stdout.write(
                f"{item.pk}\t{item.status}\t{','.join(item.reasons)}\t{','.join(item.flags) or '-'}\t"
                f"{item.track or '-'}\tprompt {item.prompt_id}: {text}"
            )

    def _triage_decide(self, user, *, item_id, status, note, duplicate_of, **_):
        if user is None:
            raise CommandError("triage-decide: --user (an admin or reviewer of the project) is required.")
        item = TriageItem.objects.filter(pk=item_id).select_related("run").first()
        if item is None:
            raise CommandError(f"No triage item {item_id}.")
        target = None
        if duplicate_of is not None:
            target = TriageItem.objects.filter(pk=duplicate_of).first()
            if target is None:
                raise CommandError(f"No triage item {duplicate_of}.")
        item = triage_decide(item=item, user=user, status=status, note=note, duplicate_of=target)
        fix = f", fix-it task {item.fix_work_item_id}" if item.fix_work_item_id else ""
        self.stdout.write(f"triage item {item.pk}: {item.status}{fix}")


def _shown(score: dict) -> str:
    value, low, high = score.get("value"), score.get("low"), score.get("high")
    if value is None:
        return "not enough data"
    return f"score {value:.3f} [{low:.3f}, {high:.3f}] (n={score.get('n')})"


def gate(report: dict, *, finished: bool, require: str, fail_on_alarm: bool) -> tuple[str, int]:
    """(what to print, exit code) for a run's report and a requirement on its score's interval."""
    score = (report.get("overall") or {}).get("score") or {}
    low, high, value = score.get("low"), score.get("high"), score.get("value")
    shown = _shown(score)
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
