"""Triage pages: the run's list (filters, the comparison, no model names), a decision with htmx and
without, the set's summary; query counts that do not grow with the run."""

import pytest
from django.urls import reverse

from labelhub.evaluation.models import RunStatus, TriageItem
from labelhub.evaluation.services.triage import triage_items_create
from labelhub.labeling.models import WorkItem
from labelhub.projects.models import Role

from ..factories import UserFactory
from ..workbench_helpers import make_prompt
from . import triage_builders as tb

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, members, publish, staff):
    version = publish(project, staff, "# Guidelines")
    prompts = [make_prompt(project, f"Question {i}", track="helpful" if i % 2 else "harmless") for i in range(8)]
    return {
        "project": project,
        "version": version,
        "prompts": prompts,
        "set": tb.evaluation_set(project, prompts),
        **members,
    }


def _run(world, n, **judged):
    run = tb.run(world["set"])
    for prompt in world["prompts"][:n]:
        p = tb.pair(
            run, prompt, test_text=f"condemned answer {prompt.pk}", baseline_text=f"baseline answer {prompt.pk}"
        )
        tb.judge(p, UserFactory(), world["version"], rationale=f"why {prompt.pk}", **({"result": "loss"} | judged))
    triage_items_create(run=run)
    return run


def _url(world, run):
    return reverse("projects:evaluation:triage", args=[world["project"].pk, run.pk])


def test_reviewer_sees_the_comparison_but_no_model_names(world, client_for):
    run = _run(world, 2, flags=["off_topic"])
    response = client_for(world[Role.REVIEWER]).get(_url(world, run))
    assert response.status_code == 200
    html = response.content.decode()
    prompt = world["prompts"][0]
    for text in (
        f"condemned answer {prompt.pk}",
        f"baseline answer {prompt.pk}",
        f"why {prompt.pk}",
        "off_topic",
        "worse",
    ):
        assert text in html
    assert "model-under-test" not in html and "baseline-model" not in html


def test_filters_by_track_flag_reason_and_status(world, client_for):
    run = _run(world, 4)
    flagged = _run(world, 0)  # an empty second run: its own list is empty
    client = client_for(world[Role.REVIEWER])
    html = client.get(_url(world, run) + "?track=harmless").content.decode()
    assert html.count('class="card triage-item"') == 2
    assert client.get(_url(world, run) + "?reason=unsafe").content.decode().count('class="card triage-item"') == 0
    assert client.get(_url(world, run) + "?status=open").content.decode().count('class="card triage-item"') == 4
    bad = client.get(_url(world, run) + "?flag=<script>")
    assert bad.status_code == 200 and "<script>" not in bad.content.decode()
    assert client.get(_url(world, flagged)).status_code == 200


def test_page_queries_do_not_grow(world, client_for, django_assert_max_num_queries):
    client = client_for(world[Role.REVIEWER])
    small = _run(world, 1)
    big = _run(world, 8, flags=["a", "b"], unsafe=True)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert client.get(_url(world, small)).status_code == 200
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(_url(world, big)).status_code == 200


def test_decide_with_htmx_swaps_the_item(world, client_for):
    run = _run(world, 1)
    item = TriageItem.objects.get(run=run)
    url = reverse("projects:evaluation:triage-decide", args=[world["project"].pk, run.pk, item.pk])
    response = client_for(world[Role.REVIEWER]).post(url, {"status": "fix", "note": "n"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<article") and f'id="triage-{item.pk}"' in html and 'data-status="fix"' in html
    assert WorkItem.objects.filter(purpose="fix", origin__triage=item.pk).exists()


def test_decide_without_htmx_redirects_and_errors_are_a_form(world, client_for):
    run = _run(world, 2)
    a, b = TriageItem.objects.filter(run=run).order_by("id")
    client = client_for(world[Role.ADMIN])
    url = reverse("projects:evaluation:triage-decide", args=[world["project"].pk, run.pk, b.pk])
    response = client.post(url, {"status": "duplicate", "duplicate_of": a.pk})
    assert response.status_code == 302 and response["Location"].endswith(f"#triage-{b.pk}")
    bad = client.post(url, {"status": "duplicate", "duplicate_of": b.pk})
    assert bad.status_code == 400 and "duplicate_of" in bad.content.decode()
    assert client.post(url, {"status": "nope"}).status_code == 400
    htmx = client.post(url, {"status": "duplicate"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and "form-errors" in htmx.content.decode()


def test_unfinished_run_refuses_decisions(world, client_for):
    run = _run(world, 1)
    item = TriageItem.objects.get(run=run)
    run.status = RunStatus.LABELING
    run.save(update_fields=["status"])
    url = reverse("projects:evaluation:triage-decide", args=[world["project"].pk, run.pk, item.pk])
    assert client_for(world[Role.REVIEWER]).post(url, {"status": "fix"}).status_code == 400
    assert not WorkItem.objects.filter(purpose="fix").exists()


@pytest.mark.parametrize(("role", "code"), [(Role.ADMIN, 200), (Role.REVIEWER, 200), (Role.ENGINEER, 403),
                                            (Role.LABELER, 403), ("outsider", 404)])  # fmt: skip
def test_role_matrix(world, client_for, role, code):
    run = _run(world, 1)
    client = client_for(world[role])
    assert client.get(_url(world, run)).status_code == code
    summary = reverse("projects:evaluation:triage-summary", args=[world["project"].pk, world["set"].pk])
    assert client.get(summary).status_code == code


def test_other_projects_runs_are_404(world, client_for, make_project):
    run = _run(world, 1)
    other = make_project("Other")
    item = TriageItem.objects.get(run=run)
    from labelhub.projects import services as project_services

    project_services.membership_add(project=other, username=world[Role.REVIEWER].username, role=Role.REVIEWER)
    client = client_for(world[Role.REVIEWER])
    assert client.get(reverse("projects:evaluation:triage", args=[other.pk, run.pk])).status_code == 404
    decide = reverse("projects:evaluation:triage-decide", args=[other.pk, run.pk, item.pk])
    assert client.post(decide, {"status": "fix"}).status_code == 404
    assert (
        client.get(reverse("projects:evaluation:triage-summary", args=[other.pk, world["set"].pk])).status_code == 404
    )


def test_summary_page(world, client_for, django_assert_max_num_queries):
    first = _run(world, 3)
    _run(world, 1)
    client = client_for(world[Role.REVIEWER])
    url = reverse("projects:evaluation:triage-summary", args=[world["project"].pk, world["set"].pk])
    html = client.get(url).content.decode()
    assert 'data-still-failing="1"' in html and 'data-resolved="2"' in html
    assert reverse("projects:evaluation:triage", args=[world["project"].pk, first.pk]) in html


def test_items_say_whether_the_next_run_still_fails_them(world, client_for):
    first = _run(world, 3)
    _run(world, 1)  # the next run condemns only the first prompt again
    html = client_for(world[Role.REVIEWER]).get(_url(world, first)).content.decode()
    assert html.count('data-next-run="still-failing"') == 1 and html.count('data-next-run="resolved"') == 2
