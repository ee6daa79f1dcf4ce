"""The labeling hot path (claim the next task, submit it): its hand-written SQL gives the same model
instances the ORM would, it runs a fixed, small number of statements, and a labeler claiming from
two tabs at the same moment never leaks a slot."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labelhub.core.exceptions import Conflict
from labelhub.core.rawsql import Columns, instances
from labelhub.labeling import services
from labelhub.labeling.models import Assignment, AssignmentStatus, Label, WorkItem
from labelhub.projects.models import GuidelineVersion, Project, Role
from labelhub.prompts.models import Prompt

AXES = ("helpful", "truthful", "harmless")


def _cmp_only(project):
    project.demonstrations_enabled = False
    project.gold_rate = 0
    project.save()


@pytest.mark.django_db
def test_rawsql_instances_equal_what_the_orm_loads(project, members, acked, make_prompts, sync):
    _cmp_only(project)
    make_prompts(1, candidates=3)
    sync()
    labeler = acked(members[Role.LABELER])
    claimed = services.work_item_claim_next(project=project, user=labeler)
    services.draft_save(assignment_id=claimed.pk, user=labeler, payload={"ranks": {"1": 2}, "note": "é ✓"})
    columns = (
        Columns(Assignment, "a"), Columns(WorkItem, "w"), Columns(Project, "p"), Columns(Prompt, "pr"),
        Columns(GuidelineVersion, "gv", defer=("content",)),
    )  # fmt: skip
    sql = """SELECT {}, {}, {}, {}, {} FROM labeling_assignment a
        JOIN labeling_workitem w ON w.id = a.work_item_id JOIN projects_project p ON p.id = w.project_id
        JOIN prompts_prompt pr ON pr.id = w.prompt_id
        JOIN projects_guidelineversion gv ON gv.id = a.guideline_version_id
        WHERE a.id = %s"""
    with connection.cursor() as cursor:
        cursor.execute(sql.format(*columns), [claimed.pk])
        got = instances(cursor.fetchone(), *columns)
    assignment = Assignment.objects.get(pk=claimed.pk)
    expected = [assignment, assignment.work_item, project, assignment.work_item.prompt, assignment.guideline_version]
    for obj, orm in zip(got, expected, strict=True):
        assert type(obj) is type(orm) and obj.pk == orm.pk and not obj._state.adding
        for field in obj._meta.concrete_fields:
            if field.attname in obj.get_deferred_fields():
                continue
            mine, theirs = getattr(obj, field.attname), getattr(orm, field.attname)
            assert mine == theirs and type(mine) is type(theirs), field.name
    assert got[0].draft == {"ranks": {"1": 2}, "note": "é ✓"}  # JSON parsed, as the ORM does
    assert got[0].claimed_at.tzinfo is not None
    version = got[4]
    assert version.get_deferred_fields() == {"content"}
    assert version.content == expected[4].content  # a deferred field loads on access
    with pytest.raises(ValueError, match="no fields"):
        Columns(Project, "p", defer=("nope",))


def _run(fn):
    """fn()'s result and the SQL statements it ran, without transaction control (BEGIN, SAVEPOINT...)."""
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
    return result, [q["sql"] for q in ctx.captured_queries if not q["sql"].upper().startswith(control)]


def _answer(task) -> tuple[str, dict]:
    if task["kind"] == "demonstration":
        return f"/api/v1/work-items/{task['id']}/demonstration", {"content": "An ideal answer."}
    ids = [str(c["id"]) for c in task["candidates"]]
    body = {
        "ranks": {cid: i + 1 for i, cid in enumerate(ids)},
        "ratings": {cid: dict.fromkeys(AXES, 5) for cid in ids},
        "strength": "better",
    }
    return f"/api/v1/work-items/{task['id']}/ranking", body


@pytest.mark.django_db
def test_claim_and_submit_run_a_fixed_small_number_of_statements(project, members, acked, make_prompts, sync, api):
    """What each labeler request costs the database. A change that adds a statement to the hot path
    shows up here: bench/RESULTS.md ("make bench-load") says why they are few."""
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL claim (one statement)")
    project.gold_rate = 0
    project.comparison_overlap = 3
    project.save()
    make_prompts(2, candidates=2)
    sync()
    client = api(acked(members[Role.LABELER]))
    client.get("/api/v1/me")  # the token's first use stamps it (one UPDATE, once a minute)
    url = f"/api/v1/projects/{project.pk}/work/next"

    def claim(kind):
        return client.post(url, {"kind": kind}, format="json")

    for kind in ("demonstration", "comparison"):
        response, statements = _run(lambda k=kind: claim(k))
        # token, membership, guidelines + quarantine + held task, the claim itself, the candidates
        assert response.status_code == 200 and len(statements) == 5, statements
        submit_url, body = _answer(response.json())
        response, statements = _run(lambda u=submit_url, b=body: client.post(u, b, format="json"))
        # token, the assignment (locked) with its item, project, prompt and guidelines, INSERT label,
        # UPDATE assignment, UPDATE the item's count (RETURNING whether it is complete: not yet)
        assert response.status_code == 201 and len(statements) == 5, statements
        # A replayed submit reads the stored label and writes nothing.
        response, statements = _run(lambda u=submit_url, b=body: client.post(u, b, format="json"))
        assert response.status_code == 200 and len(statements) == 3, statements
        assert not any(sql.startswith(("INSERT", "UPDATE")) for sql in statements), statements
    # Asking again while holding a task: as many statements, none of them a claim.
    first = claim("comparison").json()
    response, statements = _run(lambda: claim("comparison"))
    assert response.json()["assignment_id"] == first["assignment_id"]
    assert len(statements) == 5 and not any(sql.startswith(("INSERT", "UPDATE", "WITH")) for sql in statements)


@pytest.mark.django_db
def test_an_expired_lease_is_claimed_back_by_the_same_row(project, members, acked, make_prompts, sync):
    """ON CONFLICT ... WHERE expired: the labeler's expired assignment on an item comes back active,
    with a fresh lease, the same id and their draft; nothing is counted twice."""
    _cmp_only(project)
    make_prompts(1, candidates=2)
    sync()
    labeler = acked(members[Role.LABELER])
    first = services.work_item_claim_next(project=project, user=labeler)
    services.draft_save(assignment_id=first.pk, user=labeler, payload={"rationale": "half done"})
    Assignment.objects.filter(pk=first.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    again = services.work_item_claim_next(project=project, user=labeler)  # expires it, then claims it back
    assert again.pk == first.pk and again.status == AssignmentStatus.ACTIVE
    assert again.lease_expires_at > timezone.now() and again.draft == {"rationale": "half done"}
    assert sorted(again.display_order) == sorted(again.work_item.candidate_ids)
    assert again.guideline_version_id == first.guideline_version_id
    assert WorkItem.objects.get().taken == 1 and Assignment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_labeler_claiming_in_two_tabs_at_once_never_leaks_a_slot(project, make_prompts, sync, guidelines):
    """Two threads, one labeler, 20 rounds of simultaneous claims. Each tab gets a task (the same one,
    or two: neither saw the other's claim yet) or a 409 to ask again; a second task is not lost, the
    next ask serves the oldest held task first; `taken` always counts exactly labels + live leases."""
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    from labelhub.projects import services as project_services
    from tests.factories import UserFactory

    _cmp_only(project)
    make_prompts(45, candidates=2)
    sync()
    user = UserFactory(username="two-tabs")
    project_services.membership_add(project=project, username=user.username, role=Role.LABELER)
    project_services.guideline_acknowledge(project=project, user=user, number=guidelines.number)
    errors, submitted = [], 0

    def tab(barrier, got):
        try:
            barrier.wait()
            got.append(services.work_item_claim_next(project=project, user=user).pk)
        except Conflict:
            got.append("conflict")
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connection.close()

    for _round in range(20):
        barrier, got = threading.Barrier(2), []
        threads = [threading.Thread(target=tab, args=(barrier, got)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        live = list(
            Assignment.objects.filter(user=user, status=AssignmentStatus.ACTIVE)
            .select_related("work_item")
            .order_by("claimed_at")
        )
        assert 1 <= len(live) <= 2 and set(got) - {"conflict"} == {a.pk for a in live}, (got, live)
        assert services.work_item_claim_next(project=project, user=user).pk == live[0].pk  # oldest first
        for assignment in live:  # done with them: the next round claims fresh items
            ids = [str(c) for c in assignment.work_item.candidate_ids]
            payload = {
                "ranks": {c: i + 1 for i, c in enumerate(ids)},
                "ratings": {c: dict.fromkeys(AXES, 4) for c in ids},
                "strength": "better",
            }
            services.ranking_submit(assignment_id=assignment.pk, user=user, payload=payload)
        submitted += len(live)
    assert not errors, errors[:3]
    for item in WorkItem.objects.filter(project=project):
        live = Assignment.objects.filter(work_item=item, status=AssignmentStatus.ACTIVE).count()
        assert item.taken == item.label_count + live, item
    assert Label.objects.filter(user=user).count() == submitted >= 20
