"""Triage services: which answers become triage items, and the decisions on them (fix makes one
demonstration task, served to labelers pre-filled with the condemned answer)."""

import threading

import pytest
from django.db import connection

from labelhub.core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from labelhub.evaluation.models import RunStatus, TriageItem
from labelhub.evaluation.selectors.triage import triage_summary
from labelhub.evaluation.services.triage import triage_decide, triage_items_create
from labelhub.labeling import selectors as labeling_selectors
from labelhub.labeling import services as labeling_services
from labelhub.labeling.models import Label, WorkItem
from labelhub.projects.models import Role

from ..factories import UserFactory
from ..workbench_helpers import configure, make_prompt
from . import triage_builders as tb

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def world(project, members, publish, staff):
    version = publish(project, staff, "# Guidelines")
    prompts = [make_prompt(project, f"Question {i}") for i in range(6)]
    es = tb.evaluation_set(project, prompts)
    return {"project": project, "version": version, "prompts": prompts, "set": es, **members}


def _judged(world, results):
    """A finished run whose pair i got the labels results[i] (a list of judge() keyword dicts)."""
    run = tb.run(world["set"])
    pairs = []
    for prompt, labels in zip(world["prompts"], results, strict=False):
        p = tb.pair(run, prompt)
        for i, kwargs in enumerate(labels):
            user = world[Role.LABELER] if i == 0 else UserFactory()
            tb.judge(p, user, world["version"], **kwargs)
        pairs.append(p)
    return run, pairs


def test_each_reason_makes_an_item_and_wins_do_not(world):
    run, pairs = _judged(
        world,
        [
            [{"result": "loss"}],
            [{"result": "win", "flags": ["off_topic"]}],
            [{"result": "win", "unsafe": True}],
            [{"result": "both_bad"}],
            [{"result": "win"}, {"result": "loss"}],  # one each way: not lost
            [{"result": "tie"}],
        ],
    )
    assert triage_items_create(run=run) == 4
    items = {i.pair_id: i for i in TriageItem.objects.filter(run=run)}
    assert items[pairs[0].pk].reasons == ["lost"]
    assert items[pairs[1].pk].reasons == ["flagged"] and items[pairs[1].pk].flags == ["off_topic"]
    assert items[pairs[2].pk].reasons == ["unsafe"]
    assert items[pairs[3].pk].reasons == ["all_bad"]
    assert set(items) == {p.pk for p in pairs[:4]}
    assert items[pairs[0].pk].candidate_id == pairs[0].candidate_id
    assert items[pairs[0].pk].track == "helpful"


def test_create_is_idempotent(world):
    run, _pairs = _judged(world, [[{"result": "loss"}], [{"result": "both_bad"}]])
    assert triage_items_create(run=run) == 2
    assert triage_items_create(run=run) == 0
    assert TriageItem.objects.filter(run=run).count() == 2


def test_create_runs_in_constant_queries(world, django_assert_num_queries):
    small, _ = _judged(world, [[{"result": "loss"}]])
    with django_assert_num_queries(7) as small_ctx:
        triage_items_create(run=small)
    big, _ = _judged(world, [[{"result": "loss", "flags": ["x"]}, {"result": "both_bad"}]] * 6)
    with django_assert_num_queries(len(small_ctx.captured_queries)):
        assert triage_items_create(run=big) == 6


def _item(world, result="loss"):
    run, pairs = _judged(world, [[{"result": result}]])
    triage_items_create(run=run)
    return TriageItem.objects.get(pair=pairs[0])


def test_fix_makes_one_demonstration_task(world):
    item = _item(world)
    reviewer = world[Role.REVIEWER]
    decided = triage_decide(item=item, user=reviewer, status="fix", note="  wrong facts ")
    work = decided.fix_work_item
    assert (work.kind, work.purpose, work.candidate_ids, work.overlap) == (
        "demonstration",
        "fix",
        [item.candidate_id],
        1,
    )
    assert work.origin["triage"] == item.pk and work.origin["evaluation_run"] == item.run_id
    assert work.origin["evaluation_set"] == item.run.evaluation_set_id
    assert decided.note == "wrong facts" and decided.decided_by == reviewer
    again = triage_decide(item=item, user=world[Role.ADMIN], status="fix")
    assert again.fix_work_item_id == work.pk
    assert WorkItem.objects.filter(purpose="fix").count() == 1


def test_redeciding_withdraws_the_fix_task_until_it_has_a_label(world):
    item = _item(world)
    reviewer = world[Role.REVIEWER]
    work_id = triage_decide(item=item, user=reviewer, status="fix").fix_work_item_id
    decided = triage_decide(item=item, user=reviewer, status="wont_fix")
    assert decided.status == "wont_fix" and decided.fix_work_item_id is None
    assert not WorkItem.objects.filter(pk=work_id).exists()
    fixed = triage_decide(item=item, user=reviewer, status="fix")
    WorkItem.objects.filter(pk=fixed.fix_work_item_id).update(label_count=1)
    with pytest.raises(Conflict):
        triage_decide(item=item, user=reviewer, status="wont_fix")


def test_duplicates_resolve_to_the_original(world):
    run, _pairs = _judged(world, [[{"result": "loss"}]] * 3)
    triage_items_create(run=run)
    a, b, c = TriageItem.objects.filter(run=run).order_by("id")
    reviewer = world[Role.REVIEWER]
    assert triage_decide(item=b, user=reviewer, status="duplicate", duplicate_of=a).duplicate_of_id == a.pk
    assert triage_decide(item=c, user=reviewer, status="duplicate", duplicate_of=b.pk).duplicate_of_id == a.pk
    for bad in (None, c.pk, 10**9):  # missing, a duplicate of itself (through b), unknown
        with pytest.raises(ApplicationError) as exc:
            triage_decide(item=a, user=reviewer, status="duplicate", duplicate_of=bad)
        assert "duplicate_of" in exc.value.extra["fields"]


def test_duplicate_of_another_project_is_refused(world, make_project, staff, publish):
    other = make_project("Other")
    version = publish(other, staff, "# g")
    es = tb.evaluation_set(other, [make_prompt(other, "Elsewhere")])
    run = tb.run(es)
    p = tb.pair(run, es.members.get().prompt)
    tb.judge(p, staff, version, result="loss")
    triage_items_create(run=run)
    foreign = TriageItem.objects.get(run=run)
    with pytest.raises(ApplicationError) as exc:
        triage_decide(item=_item(world), user=world[Role.REVIEWER], status="duplicate", duplicate_of=foreign.pk)
    assert "duplicate_of" in exc.value.extra["fields"]


def test_bad_status_and_unfinished_run(world):
    item = _item(world)
    with pytest.raises(ApplicationError) as exc:
        triage_decide(item=item, user=world[Role.REVIEWER], status="open")
    assert "status" in exc.value.extra["fields"]
    item.run.status = RunStatus.LABELING
    item.run.save(update_fields=["status"])
    with pytest.raises(Conflict):
        triage_decide(item=item, user=world[Role.REVIEWER], status="fix")
    assert not WorkItem.objects.filter(purpose="fix").exists()


@pytest.mark.parametrize(
    ("role", "error"),
    [(Role.ADMIN, None), (Role.REVIEWER, None), (Role.ENGINEER, Forbidden), (Role.LABELER, Forbidden),
     ("outsider", NotFound)],
)  # fmt: skip
def test_role_matrix(world, role, error):
    item = _item(world)
    if error is None:
        assert triage_decide(item=item, user=world[role], status="wont_fix").status == "wont_fix"
    else:
        with pytest.raises(error):
            triage_decide(item=item, user=world[role], status="fix")
        assert not WorkItem.objects.filter(purpose="fix").exists()


def test_fix_task_is_served_prefilled_and_its_label_starts_from_the_answer(world, publish, staff):
    project = configure(world["project"], comparisons=False)
    item = _item(world)
    item.prompt.held_out = True
    item.prompt.save(update_fields=["held_out"])
    work = triage_decide(item=item, user=world[Role.REVIEWER], status="fix").fix_work_item
    labeler = UserFactory(username="fixer")
    from labelhub.projects import services as project_services

    project_services.membership_add(project=project, username="fixer", role=Role.LABELER)
    project_services.guideline_acknowledge(project=project, user=labeler, number=world["version"].number)
    assignment = labeling_services.work_item_claim_next(project=project, user=labeler, kind="demonstration")
    assert assignment.work_item_id == work.pk
    task = labeling_selectors.task_payload(assignment=assignment)
    assert task["fix"] == {"candidate": item.candidate_id, "reasons": ["lost"], "flags": []}
    assert [c["id"] for c in task["candidates"]] == [item.candidate_id]
    assert "model-under-test" not in repr(task)
    label = labeling_services.demonstration_submit(
        user=labeler, work_item_id=work.pk, content="A fixed answer.", source_candidate_id=item.candidate_id
    )
    assert label.source_candidate_id == item.candidate_id and label.original_content == "test answer"
    with pytest.raises(Conflict):
        triage_decide(item=item, user=world[Role.REVIEWER], status="wont_fix")
    assert triage_summary(evaluation_set=world["set"])[0]["fixed"] == 1
    assert Label.objects.filter(work_item=work).count() == 1


def test_summary_still_failing_and_resolved_over_two_runs(world, django_assert_num_queries):
    first, _ = _judged(world, [[{"result": "loss"}], [{"result": "loss"}], [{"result": "both_bad"}]])
    triage_items_create(run=first)
    items = list(TriageItem.objects.filter(run=first).order_by("id"))
    triage_decide(item=items[0], user=world[Role.REVIEWER], status="fix")
    triage_decide(item=items[1], user=world[Role.REVIEWER], status="wont_fix")
    # The next run: prompt 0 condemned again, prompts 1 and 2 no longer.
    second, _ = _judged(world, [[{"result": "loss"}], [{"result": "win"}], [{"result": "tie"}]])
    triage_items_create(run=second)
    with django_assert_num_queries(2):
        rows = triage_summary(evaluation_set=world["set"])
    newest, oldest = rows
    assert newest["run"] == second and newest["still_failing"] is None
    assert oldest["run"] == first and oldest["next_run"] == second
    assert (oldest["found"], oldest["fix"], oldest["wont_fix"], oldest["open"]) == (3, 1, 1, 1)
    assert (oldest["still_failing"], oldest["resolved"]) == (1, 2)


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_pressing_fix_at_once_make_one_task(world):
    run, _pairs = _judged(world, [[{"result": "loss"}]] * 6)
    triage_items_create(run=run)
    users = [world[Role.REVIEWER], world[Role.ADMIN]]
    for item in TriageItem.objects.filter(run=run):  # a race each: the second must see the first's task
        barrier, errors = threading.Barrier(2), []

        def press(user, item=item, barrier=barrier, errors=errors):
            try:
                barrier.wait()
                triage_decide(item=TriageItem.objects.select_related("run").get(pk=item.pk), user=user, status="fix")
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=press, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        item.refresh_from_db()
        assert WorkItem.objects.filter(purpose="fix", origin__triage=item.pk).count() == 1
        assert item.fix_work_item.origin["triage"] == item.pk


def test_quality_control_leaves_a_disagreeing_evaluation_pair_alone(world):
    """Two labels that disagree on an evaluation pair are data the report measures (ties, a split):
    quality control neither raises its overlap (a run would wait for max_overlap labelers) nor sends
    it to adjudication; on a training item the same labels raise the overlap."""
    from labelhub.quality.services import item_check_disagreement

    _run, (pair,) = _judged(world, [[{"result": "win"}, {"result": "loss"}]])
    WorkItem.objects.filter(pk=pair.work_item_id).update(overlap=2, taken=2, label_count=2)
    assert item_check_disagreement(work_item_id=pair.work_item_id) is None
    item = WorkItem.objects.get(pk=pair.work_item_id)
    assert (item.overlap, item.needs_adjudication) == (2, False)
    WorkItem.objects.filter(pk=item.pk).update(purpose="")
    assert item_check_disagreement(work_item_id=item.pk) == "raised"
