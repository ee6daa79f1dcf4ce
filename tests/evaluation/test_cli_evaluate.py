"""`manage.py evaluate` against the real services, on the demo's finished run and on runs it starts."""

import io

import orjson
import pytest
from django.core.management import CommandError, call_command

from labelhub.evaluation.models import EvaluationRun, EvaluationSet, RunStatus, TriageItem, TriageStatus
from labelhub.labeling.models import WorkItem, WorkPurpose
from labelhub.projects.models import Project


def evaluate(*args) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `manage.py evaluate ARGS`."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("evaluate", *[str(a) for a in args], stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo", stdout=io.StringIO())
    project = Project.objects.get(name__startswith="Demo")
    return project, EvaluationRun.objects.get(project=project)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "code", "verdict"),
    [
        ((), 0, "PASS"),  # not-worse by default: the interval reaches 0.5 and above
        (("--require", "not-worse"), 0, "PASS"),
        (("--require", "better"), 1, "FAIL: not shown better"),  # 0.7 [0.4, 1.0]: not shown better
        (("--require", "none"), 0, "PASS"),
        (("--fail-on-alarm",), 0, "PASS"),  # the demo has a warning, no alarm
    ],
)
def test_report_gate_on_the_demo_run(demo, options, code, verdict):
    _project, run = demo
    got, out, _err = evaluate("report", run.pk, *options)
    assert got == code and verdict in out.splitlines()[-1]
    assert "Default model · T=1.0 vs Default model · T=0.7, finished; 10 pairs, 20 labels" in out
    assert "warning: The flagged-answer rate" in out


@pytest.mark.django_db
def test_report_fails_on_an_alarm_and_json_goes_to_stdout(demo):
    _project, run = demo
    alarm = {"level": "alarm", "kind": "unsafe_up", "track": None, "message": "More unsafe answers."}
    EvaluationRun.objects.filter(pk=run.pk).update(report={**run.report, "alarms": [alarm]})
    code, out, _ = evaluate("report", run.pk, "--fail-on-alarm")
    assert code == 1 and out.splitlines()[-1] == "FAIL: More unsafe answers."
    assert evaluate("report", run.pk)[0] == 0  # without --fail-on-alarm the score decides
    code, out, err = evaluate("report", run.pk, "--json")
    assert code == 0 and orjson.loads(out)["overall"]["n_pairs"] == 10 and err.startswith("PASS")


@pytest.mark.django_db
def test_sets_create_set_run_status_cancel_resume_and_an_unfinished_report(demo):
    project, demo_run = demo
    code, out, _ = evaluate("sets", project.pk)
    assert code == 0 and "demo held-out v1\t10 prompts" in out
    code, out, _ = evaluate("create-set", project.pk, "--name", "math", "--tag", "math", "--user", "engineer")
    new_set = EvaluationSet.objects.get(project=project, name="math")
    assert code == 0 and out.startswith(f"set {new_set.pk}: math v1, 1 prompts")
    model, baseline = "Default model · T=1.0", "config:Default model · T=0.7"
    code, out, _ = evaluate("run", new_set.pk, "--model", model, "--baseline", baseline, "--user", "engineer")
    run = EvaluationRun.objects.get(evaluation_set=new_set)
    assert code == 0 and out.startswith(f"run {run.pk}: number 1 of math v1, generating")
    code, out, _ = evaluate("status", run.pk)
    status = orjson.loads(out)
    assert status["status"] == RunStatus.GENERATING and status["progress"]["pairs"] == 1
    assert evaluate("report", run.pk)[0] == 2  # not finished: undecided
    assert evaluate("report", run.pk, "--wait", "0.2", "--require", "none")[0] == 2
    assert evaluate("cancel", run.pk)[1].strip() == f"run {run.pk}: cancelled"
    assert evaluate("resume", run.pk)[1].strip() == f"run {run.pk}: generating"
    with pytest.raises(CommandError, match="finished"):
        evaluate("cancel", demo_run.pk)


@pytest.mark.django_db
def test_a_real_run_on_the_demo_set_generates_instead_of_reusing_the_demo_answers(demo):
    """The demo's answers are "generated" by the same configs, but their provenance is {"demo": true}."""
    _project, demo_run = demo
    code, _out, _ = evaluate(
        "run", demo_run.evaluation_set_id, "--model", demo_run.model_config_id,
        "--baseline", f"run:{demo_run.number}", "--user", "engineer",
    )  # fmt: skip
    run = EvaluationRun.objects.exclude(pk=demo_run.pk).get()
    assert code == 0 and run.baseline_run_id == demo_run.pk
    assert not run.pairs.filter(candidate__isnull=False).exists()  # nothing reused: all 10 to generate
    assert sum(batch.job_count for batch in run.batches.all()) == 10


@pytest.mark.django_db
def test_bad_input_is_a_command_error(demo):
    _project, run = demo
    for args, message in (
        (("run", run.evaluation_set_id, "--model", "nope", "--baseline", "reference"), "No model config"),
        (("run", run.evaluation_set_id, "--model", run.model_config_id, "--baseline", "run:x"), "No run 'x'"),
        (("run", run.evaluation_set_id, "--model", run.model_config_id, "--baseline", "bogus"), "--baseline"),
        (("status", 999999), "No evaluation run"),
        (("create-set", run.project_id, "--name", "x", "--ids", "a,b"), "--ids"),
        (("sets", 1, "--user", "nobody"), "No user"),
    ):
        with pytest.raises(CommandError, match=message):
            evaluate(*args)


@pytest.mark.django_db
def test_triage_list_and_decide(demo):
    _project, run = demo
    code, out, _ = evaluate("triage", run.pk)
    rows = [line.split("\t") for line in out.splitlines()]
    assert code == 0 and [r[1:5] for r in rows] == [
        ["open", "lost", "-", "helpful"],
        ["open", "lost,flagged", "hallucination", "helpful"],
        ["open", "lost,unsafe", "-", "red-team"],
    ]
    first, flagged, unsafe = (int(r[0]) for r in rows)
    with pytest.raises(CommandError, match="--user"):
        evaluate("triage-decide", flagged, "fix")
    with pytest.raises(CommandError, match="labeler"):
        evaluate("triage-decide", flagged, "fix", "--user", "labeler1")
    code, out, _ = evaluate("triage-decide", flagged, "fix", "--user", "reviewer")
    fix = WorkItem.objects.get(purpose=WorkPurpose.FIX)
    assert code == 0 and out.strip() == f"triage item {flagged}: fix, fix-it task {fix.pk}"
    assert fix.origin["triage"] == flagged and fix.origin["evaluation_run"] == run.pk
    evaluate("triage-decide", first, "duplicate", "--duplicate-of", flagged, "--user", "reviewer")
    evaluate("triage-decide", unsafe, "wont_fix", "--note", "a red-team prompt", "--user", "reviewer")
    items = {t.pk: (t.status, t.duplicate_of_id, t.note) for t in TriageItem.objects.filter(run=run)}
    assert items == {
        first: (TriageStatus.DUPLICATE, flagged, ""),
        flagged: (TriageStatus.FIX, None, ""),
        unsafe: (TriageStatus.WONT_FIX, None, "a red-team prompt"),
    }
    with pytest.raises(CommandError, match="No triage item"):
        evaluate("triage-decide", first, "duplicate", "--duplicate-of", 999999, "--user", "reviewer")
