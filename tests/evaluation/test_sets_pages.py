import pytest
from django.urls import reverse

from labelhub.evaluation.models import EvaluationRun, EvaluationSet, EvaluationSetPrompt
from labelhub.evaluation.services.sets import evaluation_set_create
from labelhub.evaluation.views.sets import score_chart
from labelhub.generation.models import ModelConfig
from labelhub.projects.models import Role
from labelhub.prompts.models import Prompt

from .test_sets_services import make_prompt

pytestmark = pytest.mark.django_db


def url(name, project, *args):
    return reverse(f"projects:evaluation:{name}", args=[project.pk, *args])


def finished_run(evaluation_set, number, value, low, high, alarms=()):
    config, _ = ModelConfig.objects.get_or_create(
        project=evaluation_set.project, name="model-v2", defaults={"base_url": "http://127.0.0.1:9/v1", "model": "m"}
    )
    report = {"overall": {"score": {"value": value, "low": low, "high": high, "n": 40}}, "alarms": list(alarms)}
    return EvaluationRun.objects.create(
        project=evaluation_set.project, evaluation_set=evaluation_set, number=number, model_config=config,
        baseline_kind="reference", status="finished", report=report,
    )  # fmt: skip


@pytest.fixture
def prompts(project):
    return [make_prompt(project, f"Question {i}", tags=["eval"], external_id=f"q{i}") for i in range(6)]


def test_list_create_detail_delete(project, members, client_for, prompts):
    client = client_for(members[Role.ENGINEER])
    assert client.get(url("sets", project)).status_code == 200
    page = client.get(url("set-create", project))
    assert page.status_code == 200 and b"references_text" in page.content
    response = client.post(
        url("set-create", project),
        {
            "name": "smoke",
            "description": "First set",
            "tags": "eval",
            "sample": "3",
            "seed": "7",
            "references_text": '{"external_id": "q0", "reference": "Zero."}\n',
            "prompt_ids": " ".join(str(p.pk) for p in prompts[:4]),
        },
    )
    s = EvaluationSet.objects.get()
    assert response.status_code == 302 and response["Location"] == url("set", project, s.pk)
    assert s.prompt_count == 3 and s.selection["seed"] == 7
    detail = client.get(url("set", project, s.pk)).content.decode()
    assert "smoke" in detail and "No runs yet." in detail and "Delete" in detail
    members_ = set(EvaluationSetPrompt.objects.values_list("prompt_id", flat=True))
    assert all(f"#{pk}<" in detail for pk in members_)
    listing = client.get(url("sets", project)).content.decode()
    assert "smoke" in listing and "none yet" in listing
    # New version: the form comes pre-filled from the set.
    again = client.get(url("set-create", project) + f"?from={s.pk}").content.decode()
    assert 'value="smoke"' in again
    response = client.post(url("set-delete", project, s.pk))
    assert response.status_code == 302 and not EvaluationSet.objects.exists()
    assert not Prompt.objects.filter(held_out=True).exists()


def test_form_errors_are_shown_not_500(project, members, client_for, prompts):
    client = client_for(members[Role.ADMIN])
    response = client.post(url("set-create", project), {"name": "x", "tags": "nothing-has-this"})
    assert response.status_code == 400 and b"The selection holds no prompts." in response.content
    response = client.post(url("set-create", project), {"name": "x", "references_text": "{not json"})
    assert response.status_code == 400 and b"Line 1 is not JSON." in response.content
    response = client.post(url("set-create", project), {"name": "x", "prompt_ids": "99999999"})
    assert response.status_code == 400 and b"The project has no prompt 99999999." in response.content
    assert not EvaluationSet.objects.exists()


def test_a_set_with_runs_shows_history_chart_and_refuses_delete(project, members, client_for, prompts, staff):
    s = evaluation_set_create(project=project, user=staff, name="hist", tags=["eval"])
    finished_run(s, 1, 0.42, 0.30, 0.55)
    finished_run(s, 2, 0.61, 0.50, 0.70)
    client = client_for(members[Role.ADMIN])
    page = client.get(url("set", project, s.pk)).content.decode()
    assert "<svg" in page and "Run 2: 61% (50%–70%)" in page and "model-v2" in page
    assert "0.61" in page
    assert client.post(url("set-delete", project, s.pk)).status_code == 302
    assert EvaluationSet.objects.filter(pk=s.pk).exists()
    listing = client.get(url("sets", project)).content.decode()
    assert "Run 2" in listing and "0.61" in listing


def test_score_chart_is_pure_and_bounded():
    assert score_chart([(1, None)]) is None
    chart = score_chart([(1, {"value": 0.5, "low": 0.4, "high": 0.6}), (2, None), (3, {"value": 1.2})])
    assert [p["number"] for p in chart["points"]] == [1, 3]
    assert all(10 <= p["y"] <= 136 for p in chart["points"])


@pytest.mark.parametrize(("role", "status"), [(Role.LABELER, 403), (Role.REVIEWER, 403), ("outsider", 404)])
def test_other_roles(project, members, client_for, prompts, staff, role, status):
    s = evaluation_set_create(project=project, user=staff, name="x", tags=["eval"])
    client = client_for(members[role])
    for name, args in (("sets", ()), ("set-create", ()), ("set", (s.pk,))):
        assert client.get(url(name, project, *args)).status_code == status
    assert client.post(url("set-delete", project, s.pk)).status_code == status
    assert EvaluationSet.objects.filter(pk=s.pk).exists()


def test_cross_project_set_is_404(project, members, client_for, make_project, staff):
    other = make_project("Other")
    theirs = evaluation_set_create(project=other, user=staff, name="theirs", prompt_ids=[make_prompt(other, "t").pk])
    client = client_for(members[Role.ADMIN])
    assert client.get(url("set", project, theirs.pk)).status_code == 404
    assert client.post(url("set-delete", project, theirs.pk)).status_code == 404
    assert client.get(url("set-create", project) + f"?from={theirs.pk}").status_code == 404
    assert EvaluationSet.objects.filter(pk=theirs.pk).exists()


def test_query_counts_do_not_grow_with_the_set(project, members, client_for, staff, django_assert_max_num_queries):
    client = client_for(members[Role.ENGINEER])
    small = evaluation_set_create(
        project=project, user=staff, name="small", prompt_ids=[make_prompt(project, f"s{i}").pk for i in range(2)]
    )
    with django_assert_max_num_queries(20) as captured:
        assert client.get(url("sets", project)).status_code == 200
    list_one_set = len(captured.captured_queries)
    big = evaluation_set_create(
        project=project, user=staff, name="big", prompt_ids=[make_prompt(project, f"b{i}").pk for i in range(40)]
    )
    for i in range(1, 6):
        finished_run(big, i, 0.5, 0.4, 0.6)
    finished_run(small, 1, 0.5, 0.4, 0.6)
    counts = []
    for s in (small, big):
        with django_assert_max_num_queries(20) as captured:
            assert client.get(url("set", project, s.pk)).status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
    for i in range(3):
        evaluation_set_create(
            project=project, user=staff, name=f"more {i}", prompt_ids=[make_prompt(project, f"m{i}").pk]
        )
    with django_assert_max_num_queries(20) as captured:
        assert client.get(url("sets", project)).status_code == 200
    assert len(captured.captured_queries) == list_one_set


def test_project_overview_shows_the_alarms_of_each_sets_latest_finished_run(project, members, client_for, prompts):
    """Alarms an admin sees at once: on the project's overview, for those who read reports; warnings
    stay on the evaluation pages; a later run without alarms clears them."""
    evaluation_set = evaluation_set_create(project=project, user=None, name="<b>held</b>", tags=["eval"])
    alarm = {"level": "alarm", "kind": "unsafe_up", "track": None, "message": "Unsafe <i>up</i> clearly."}
    warning = {"level": "warning", "kind": "flag_up", "track": None, "message": "Flags possibly up."}
    finished_run(evaluation_set, 1, 0.4, 0.3, 0.5, alarms=[alarm, warning])
    overview = reverse("projects:detail", args=[project.pk])
    for role in (Role.ADMIN, Role.ENGINEER):
        page = client_for(members[role]).get(overview).content.decode()
        assert "Evaluation alarms" in page and "Unsafe &lt;i&gt;up&lt;/i&gt; clearly." in page, role
        assert "&lt;b&gt;held&lt;/b&gt; v1" in page and "Flags possibly up." not in page
    for role in (Role.LABELER, Role.REVIEWER):
        assert "Evaluation alarms" not in client_for(members[role]).get(overview).content.decode(), role
    finished_run(evaluation_set, 2, 0.5, 0.4, 0.6, alarms=[warning])
    assert "Evaluation alarms" not in client_for(members[Role.ADMIN]).get(overview).content.decode()
