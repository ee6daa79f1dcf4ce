"""The "My labels" page: a labeler's own labels, newest first, a page at a time, with their review,
and the "Fix and resubmit" form of a rejected one."""

import json

import pytest
from django.urls import reverse

from labelhub.labeling import services
from labelhub.labeling.models import Assignment, AssignmentStatus, Label
from labelhub.labeling.selectors import MY_LABELS_PAGE
from labelhub.projects import services as project_services
from labelhub.projects.models import Role
from labelhub.prompts.models import Prompt
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def labeled(project, members, staff):
    """The labeler wrote MY_LABELS_PAGE + 2 demonstrations; the newest was rejected, one accepted."""
    project.comparisons_enabled = False
    project.gold_rate = 0
    project.save()
    v1 = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="# G")
    labeler, reviewer = members[Role.LABELER], members[Role.REVIEWER]
    for user in (labeler, reviewer):
        project_services.guideline_acknowledge(project=project, user=user, number=v1.number)
    for i in range(MY_LABELS_PAGE + 2):
        Prompt.objects.create(
            project=project, messages=[{"role": "user", "content": f"Question number {i}"}],
            text=f"Question number {i}", content_hash=f"{i:064d}",
        )  # fmt: skip
    services.work_items_sync(project=project)
    labels = []
    while (task := services.work_item_claim_next(project=project, user=labeler)) is not None:
        labels.append(services.demonstration_submit(assignment_id=task.pk, user=labeler, content=f"answer {task.pk}"))
    services.label_review(label_id=labels[0].pk, reviewer=reviewer, accept=True)
    services.label_review(label_id=labels[-1].pk, reviewer=reviewer, accept=False, comment="Cite <b>sources</b>.")
    return {"labeler": labeler, "labels": labels}


def test_newest_first_paged_with_review_status_and_comment(project, labeled, client_for):
    client = client_for(labeled["labeler"])
    url = reverse("projects:labeling:mine", args=[project.pk])
    page = client.get(url).content.decode()
    labels = labeled["labels"]
    newest, oldest = labels[-1], labels[0]
    assert page.index(f'id="my-label-{newest.pk}"') < page.index(f'id="my-label-{labels[-2].pk}"')
    assert f'id="my-label-{oldest.pk}"' not in page and page.count('id="my-label-') == MY_LABELS_PAGE
    assert "Cite &lt;b&gt;sources&lt;/b&gt;." in page and "Rejected" in page and "Pending" in page
    assert page.count("Fix and resubmit") == 1
    assert f'href="?before={labels[2].pk}"' in page
    older = client.get(url, {"before": labels[2].pk}).content.decode()
    assert f'id="my-label-{oldest.pk}"' in older and "Accepted" in older and "← Newest" in older
    assert client.get(url, {"before": "junk"}).status_code == 200
    # Another labeler sees none of them.
    other = UserFactory(username="other-labeler")
    project_services.membership_add(project=project, username=other.username, role=Role.LABELER)
    assert "my-label-" not in client_for(other).get(url).content.decode()


def test_fix_and_resubmit_opens_the_task_in_the_workbench(project, labeled, client_for, api):
    labeler, rejected = labeled["labeler"], labeled["labels"][-1]
    client = client_for(labeler)
    response = client.post(reverse("projects:labeling:reopen", args=[project.pk, rejected.pk]))
    workbench = reverse("projects:labeling:workbench", args=[project.pk])
    assert response.status_code == 302 and response["Location"] == f"{workbench}?item={rejected.work_item_id}"
    page = client.get(response["Location"]).content.decode()
    config = json.loads(page.split('id="wb-config" type="application/json">')[1].split("</script>")[0])
    assert config["openItemUrl"] == f"/api/v1/work-items/{rejected.work_item_id}"
    mine = client.get(reverse("projects:labeling:mine", args=[project.pk])).content.decode()
    assert "Continue fixing" in mine and "Fix and resubmit" not in mine
    # The fixed label goes back to review; the page shows it and what it fixes.
    services.demonstration_submit(work_item_id=rejected.work_item_id, user=labeler, content="answer, with sources")
    mine = client.get(reverse("projects:labeling:mine", args=[project.pk])).content.decode()
    assert f"fixes #{rejected.pk}" in mine and "Continue fixing" not in mine
    # The API lists it with its review.
    rows = api(labeler).get(f"/api/v1/projects/{project.pk}/my-labels").json()["results"]
    assert rows[0]["supersedes_id"] == rejected.pk and rows[0]["review_status"] == "pending"
    assert rows[1]["review_comment"] == "Cite <b>sources</b>." and rows[1]["reviewed_at"]


def test_refusals_come_back_as_messages(project, labeled, members, client_for):
    labeler, rejected = labeled["labeler"], labeled["labels"][-1]
    # The item no longer wants it: someone else took the free slot.
    other = UserFactory(username="quick-labeler")
    project_services.membership_add(project=project, username=other.username, role=Role.LABELER)
    project_services.guideline_acknowledge(project=project, user=other, number=1)
    assert services.work_item_claim_next(project=project, user=other).work_item_id == rejected.work_item_id
    response = client_for(labeler).post(
        reverse("projects:labeling:reopen", args=[project.pk, rejected.pk]), follow=True
    )
    assert "all the labels it needs" in response.content.decode()
    assert Assignment.objects.get(pk=rejected.assignment_id).status == AssignmentStatus.REJECTED
    # Someone else's label, or a label of another project: 404.
    theirs = reverse("projects:labeling:reopen", args=[project.pk, rejected.pk])
    assert client_for(other).post(theirs).status_code == 404
    assert client_for(labeler).post(reverse("projects:labeling:reopen", args=[project.pk, 999999])).status_code == 404
    assert Label.objects.filter(user=labeler).count() == len(labeled["labels"])
