"""The workbench and review pages: who may see them, the guidelines gate, the guidelines panel
rendered safely, and reviewing labels through the page."""

import json
import re

import pytest
from django.urls import reverse

from labelhub.labeling import services as labeling_services
from labelhub.labeling.models import Assignment, AssignmentStatus, Label, ReviewStatus
from labelhub.projects import selectors as project_selectors
from labelhub.projects import services as project_services
from labelhub.projects.models import Role
from labelhub.projects.permissions import Capability, role_can
from labelhub.projects.selectors import guideline_version_current
from tests.exports import builders
from tests.workbench_helpers import CUSTOM_SCHEMA, configure, make_prompt, ready, use_schema

pytestmark = pytest.mark.django_db

ROLES = [Role.ADMIN, Role.LABELER, Role.REVIEWER, Role.ENGINEER]
V1 = "# Guidelines\n\nBe helpful.\n\n## Tone\n\nBe kind.\n"
V2 = "# Guidelines\n\nBe helpful and truthful.\n\n## Tone\n\nBe kind.\n\n## Safety\n\nRefuse harm.\n"


def url(project, name, **kwargs):
    return reverse(f"projects:labeling:{name}", kwargs={"project_id": project.pk, **kwargs})


@pytest.fixture
def lab(project, members, staff, publish):
    """Guidelines v1 and v2, two prompts (one with two candidates), work items built; nobody has
    acknowledged anything yet."""
    publish(project, staff, V1, note="First")
    publish(project, staff, V2, note="Add safety")
    make_prompt(project, "What is DNS?", ["A phone book.", "A <b>protocol</b>."])
    make_prompt(project, "Write a haiku about rain.")
    labeling_services.work_items_sync(project=project)
    return {"project": project, "members": members}


def acknowledge(project, user):
    current = guideline_version_current(project=project)
    project_services.guideline_acknowledge(project=project, user=user, number=current.number)


# Role matrix -------------------------------------------------------------------------------------

PAGES = [("workbench", Capability.LABEL), ("review", Capability.REVIEW)]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "capability"), PAGES, ids=[p for p, _ in PAGES])
def test_pages_by_role(lab, client_for, role, name, capability):
    response = client_for(lab["members"][role]).get(url(lab["project"], name))
    assert response.status_code == (200 if role_can(role, capability) else 403)


def test_role_matrix_is_the_one_asked_for():
    assert [r for r in ROLES if role_can(r, Capability.LABEL)] == [Role.ADMIN, Role.LABELER, Role.REVIEWER]
    assert [r for r in ROLES if role_can(r, Capability.REVIEW)] == [Role.ADMIN, Role.REVIEWER]


@pytest.mark.parametrize("name", ["workbench", "review"])
def test_pages_are_404_for_non_members(lab, client_for, name):
    response = client_for(lab["members"]["outsider"]).get(url(lab["project"], name))
    assert response.status_code == 404
    assert lab["project"].name not in response.content.decode()


@pytest.mark.parametrize("name", ["workbench", "review"])
def test_pages_send_anonymous_visitors_to_login(lab, client_for, name):
    target = url(lab["project"], name)
    response = client_for(None).get(target)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={target}"


@pytest.mark.parametrize(
    ("name", "kwargs", "allowed"),
    [
        ("acknowledge", {}, {Role.ADMIN, Role.LABELER, Role.REVIEWER}),
        ("sync", {}, {Role.ADMIN}),
        ("review-decide", {"label_id": "a pending label"}, {Role.ADMIN, Role.REVIEWER}),
    ],
)
def test_posts_by_role(lab, client_for, name, kwargs, allowed):
    if "label_id" in kwargs:  # a label of the project (an unknown id is a 404)
        item = lab["project"].work_items.filter(kind="demonstration").first()
        version = guideline_version_current(project=lab["project"])
        kwargs = {"label_id": builders.label(item, lab["members"][Role.LABELER], version, content="An answer.").pk}
    target = url(lab["project"], name, **kwargs)
    for role in ROLES:
        response = client_for(lab["members"][role]).post(target, {"number": 2, "decision": "accept"})
        assert response.status_code == (302 if role in allowed else 403), role
    assert client_for(lab["members"]["outsider"]).post(target).status_code == 404
    assert client_for(None).post(target).status_code == 302


def test_get_is_refused_on_post_only_views(lab, client_for):
    client = client_for(lab["members"][Role.ADMIN])
    assert client.get(url(lab["project"], "acknowledge")).status_code == 405
    assert client.get(url(lab["project"], "review-decide", label_id=1)).status_code == 405


def test_tabs_follow_the_role(lab, client_for):
    project = lab["project"]
    workbench, review = url(project, "workbench"), url(project, "review")
    overview = reverse("projects:detail", kwargs={"project_id": project.pk})
    pages = {role: client_for(lab["members"][role]).get(overview).content.decode() for role in ROLES}
    assert workbench in pages[Role.LABELER] and review not in pages[Role.LABELER]
    assert workbench in pages[Role.REVIEWER] and review in pages[Role.REVIEWER]
    assert workbench in pages[Role.ADMIN] and review in pages[Role.ADMIN]
    assert workbench not in pages[Role.ENGINEER] and review not in pages[Role.ENGINEER]


# The guidelines gate -----------------------------------------------------------------------------


def test_gate_without_any_acknowledgement_shows_the_whole_current_version(lab, client_for):
    response = client_for(lab["members"][Role.LABELER]).get(url(lab["project"], "workbench"))
    html = response.content.decode()
    assert "I have read version 2" in html
    assert "<h2>Safety</h2>" in html  # the whole of v2, rendered
    assert (
        'id="wb-config"' not in html and 'id="wb-schema"' not in html and "workbench/main.js" not in html
    )  # nothing else until acknowledged


def test_gate_after_an_older_acknowledgement_shows_the_diff(lab, client_for, staff, publish):
    project, labeler = lab["project"], lab["members"][Role.LABELER]
    acknowledge(project, labeler)  # v2
    hostile = "Never invent a **date** <script>alert(1)</script> [x](javascript:alert(2)).\n"
    publish(project, staff, V2 + "\n## Dates\n\n" + hostile, note="Dates")
    html = client_for(labeler).get(url(project, "workbench")).content.decode()
    assert "You acknowledged version 2" in html
    assert "v2 → v3" in html
    # Rendered blocks marked inserted, not raw diff lines: no "@@", no "+## ", no "**".
    added = '<ins class="bd-block bd-ins"><span class="visually-hidden">Added: </span><div class="markdown-body">'
    assert added + "<h2>Dates</h2>" in html
    assert "<strong>date</strong> &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html and 'href="javascript' not in html
    assert "@@" not in html and "+## Dates" not in html and "**date**" not in html
    assert "The labeling schema did not change." in html
    assert "I have read version 3" in html
    assert "workbench/main.js" not in html


def test_acknowledging_opens_the_workbench(lab, client_for):
    project, labeler = lab["project"], lab["members"][Role.LABELER]
    client = client_for(labeler)
    response = client.post(url(project, "acknowledge"), {"number": 2}, follow=True)
    assert response.redirect_chain == [(url(project, "workbench"), 302)]
    html = response.content.decode()
    assert "You acknowledged version 2" in html
    assert "I have read version" not in html
    assert '<script type="module" src="/static/js/workbench/main.js"></script>' in html
    config = json.loads(re.search(r'<script id="wb-config" type="application/json">(.*?)</script>', html).group(1))
    assert config["guidelineVersion"] == 2
    # The schema of the version the labeler acknowledged, for the modules to render from.
    schema = json.loads(re.search(r'<script id="wb-schema" type="application/json">(.*?)</script>', html).group(1))
    assert schema == project_selectors.project_schema(project=project).as_dict()
    assert schema["questions"]
    assert config["nextUrl"] == f"/api/v1/projects/{project.pk}/work/next"
    assert config["itemUrl"] == "/api/v1/work-items/"
    assert config["csrfToken"]
    # Progress line: nothing labeled yet, three items open (two demonstrations, one comparison).
    assert re.search(r"<strong>0</strong> labels by you", html)
    assert re.search(r"<strong>3</strong> items left", html)


def test_acknowledging_an_old_version_is_refused_with_a_message(lab, client_for):
    project, labeler = lab["project"], lab["members"][Role.LABELER]
    response = client_for(labeler).post(url(project, "acknowledge"), {"number": 1}, follow=True)
    html = response.content.decode()
    assert "Version 1 is not the current version" in html
    assert "I have read version 2" in html


def test_no_guidelines_yet(project, members, client_for):
    html = client_for(members[Role.LABELER]).get(url(project, "workbench")).content.decode()
    assert "no published guidelines yet" in html
    assert "workbench/main.js" not in html


# The workbench page --------------------------------------------------------------------------------


def test_guidelines_panel_is_rendered_safely(project, members, staff, publish, client_for):
    publish(
        project,
        staff,
        "# Rules\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[x](javascript:alert(3))\n\n![](http://127.0.0.1:9/leak?x=1)\n",
    )
    labeler = members[Role.LABELER]
    acknowledge(project, labeler)
    html = client_for(labeler).get(url(project, "workbench")).content.decode()
    panel = html[html.index('id="wb-guidelines"') : html.index('class="wb-main"')]
    assert "<h1>Rules</h1>" in panel
    assert "<script>alert" not in panel and "&lt;script&gt;alert(1)&lt;/script&gt;" in panel
    assert "<img" not in panel and "&lt;img src=x onerror=alert(2)&gt;" in panel
    assert 'href="javascript:' not in panel and "[x](javascript:alert(3))" in panel  # plain text
    assert "127.0.0.1:9" in panel and 'src="http://127.0.0.1:9' not in panel  # shown as text, never loaded
    # The only scripts are our static files and the JSON config.
    scripts = re.findall(r"<script[^>]*>", html)
    assert all("src=" in s or 'type="application/json"' in s for s in scripts), scripts
    assert " style=" not in html and "<style" not in html and " onclick" not in html


def test_progress_partial_for_htmx(lab, client_for):
    project, labeler = lab["project"], lab["members"][Role.LABELER]
    acknowledge(project, labeler)
    client = client_for(labeler)
    response = client.get(url(project, "progress"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<p id="wb-progress"') and "<html" not in html
    assert client.get(url(project, "progress")).status_code == 302


def test_admins_can_build_work_items(lab, client_for):
    project = lab["project"]
    make_prompt(project, "A new prompt")
    response = client_for(lab["members"][Role.ADMIN]).post(url(project, "sync"), follow=True)
    assert "Added 1 demonstration and 0 comparison item(s)." in response.content.decode()
    response = client_for(lab["members"][Role.ADMIN]).post(url(project, "sync"), follow=True)
    assert "Every prompt already has its work items." in response.content.decode()


# Review ------------------------------------------------------------------------------------------


@pytest.fixture
def labeled(project, members, staff, publish):
    """A labeler's demonstration (fixed from a candidate) and a K=2 ranking, pending review."""
    configure(project, k=2)
    labeler = members[Role.LABELER]
    make_prompt(project, "Explain <b>DNS</b>", ["DNS maps names to addresses.", "DNS is a <script>x</script> thing."])
    ready(project, labeler, publish, staff)
    labels = {}
    for _ in range(2):
        assignment = labeling_services.work_item_claim_next(project=project, user=labeler)
        if assignment.work_item.kind == "demonstration":
            source = assignment.work_item.prompt.candidates.order_by("id").first()
            labels["demonstration"] = labeling_services.demonstration_submit(
                assignment_id=assignment.pk,
                user=labeler,
                content="DNS maps host names to IP addresses.",
                source_candidate_id=source.pk,
            )
        else:
            a, b = assignment.display_order
            labels["comparison"] = labeling_services.ranking_submit(
                assignment_id=assignment.pk,
                user=labeler,
                payload={
                    "ranks": {str(a): 1, str(b): 2},
                    "ratings": {
                        str(a): {"helpful": 6, "truthful": 7, "harmless": 7},
                        str(b): {"helpful": 2, "truthful": 3, "harmless": 5},
                    },
                    "flags": {str(b): ["hallucination"]},
                    "strength": "better",
                    "rationale": "B is <i>vague</i>.",
                },
            )
    for role in (Role.REVIEWER, Role.ADMIN):  # reviewers acknowledge the guidelines too
        acknowledge(project, members[role])
    return {"project": project, "members": members, **labels}


def test_review_page_lists_pending_labels_of_others(labeled, client_for, django_assert_max_num_queries):
    project = labeled["project"]
    client = client_for(labeled["members"][Role.REVIEWER])
    with django_assert_max_num_queries(12):
        response = client.get(url(project, "review"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="label-{labeled["demonstration"].pk}"' in html
    assert f'id="label-{labeled["comparison"].pk}"' in html
    assert "DNS maps host names to IP addresses." in html
    assert '<span class="diff-line diff-add">+DNS maps host names to IP addresses.</span>' in html
    assert "Explain &lt;b&gt;DNS&lt;/b&gt;" in html  # the prompt, escaped by the Markdown renderer
    assert "<script>x</script>" not in html
    assert "B is &lt;i&gt;vague&lt;/i&gt;." in html
    assert "first is: Better" in html and "hallucination" in html
    assert 'Helpful <span class="muted">(1–7)</span>:' in html and "<strong>7 (fully accurate)</strong>" in html


def test_reviewer_does_not_see_own_labels(labeled, client_for):
    project = labeled["project"]
    Label.objects.update(user=labeled["members"][Role.REVIEWER])
    html = client_for(labeled["members"][Role.REVIEWER]).get(url(project, "review")).content.decode()
    assert "Nothing to review right now." in html


def test_accept_through_the_page(labeled, client_for):
    project, label = labeled["project"], labeled["comparison"]
    reviewer = labeled["members"][Role.REVIEWER]
    response = client_for(reviewer).post(
        url(project, "review-decide", label_id=label.pk), {"decision": "accept"}, follow=True
    )
    assert response.redirect_chain == [(url(project, "review"), 302)]
    assert f"Label #{label.pk} by labeler-user accepted." in response.content.decode()
    label.refresh_from_db()
    assert label.review_status == ReviewStatus.ACCEPTED and label.reviewed_by == reviewer
    assert f'id="label-{label.pk}"' not in response.content.decode()


def test_reject_with_a_comment_frees_the_task(labeled, client_for):
    project, label = labeled["project"], labeled["demonstration"]
    response = client_for(labeled["members"][Role.ADMIN]).post(
        url(project, "review-decide", label_id=label.pk), {"decision": "reject", "comment": "Too terse."}, follow=True
    )
    assert "rejected; its task goes back to the queue" in response.content.decode()
    label.refresh_from_db()
    assert label.review_status == ReviewStatus.REJECTED and label.review_comment == "Too terse."
    assert Assignment.objects.get(pk=label.assignment_id).status == AssignmentStatus.REJECTED


def test_reject_without_a_comment_shows_an_error(labeled, client_for):
    project, label = labeled["project"], labeled["demonstration"]
    response = client_for(labeled["members"][Role.REVIEWER]).post(
        url(project, "review-decide", label_id=label.pk), {"decision": "reject", "comment": "  "}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain == [(url(project, "review") + f"#label-{label.pk}", 302)]
    html = response.content.decode()
    assert f"Label #{label.pk}: Say why the label is rejected." in html
    assert 'class="flash flash-error"' in html
    label.refresh_from_db()
    assert label.review_status == ReviewStatus.PENDING
    assert f'id="label-{label.pk}"' in html  # still waiting


def test_reviewing_twice_is_a_message_and_a_foreign_label_a_404(labeled, client_for, make_project):
    project, label = labeled["project"], labeled["comparison"]
    client = client_for(labeled["members"][Role.REVIEWER])
    target = url(project, "review-decide", label_id=label.pk)
    client.post(target, {"decision": "accept"})
    response = client.post(target, {"decision": "reject", "comment": "changed my mind"}, follow=True)
    assert f"Label #{label.pk} is not waiting for your review" in response.content.decode()
    label.refresh_from_db()
    assert label.review_status == ReviewStatus.ACCEPTED
    # A label id that does not exist (or another project's: tests/security/test_idor.py) is a 404 like any
    # object outside the project; a bad decision is a message.
    assert client.post(url(project, "review-decide", label_id=999999), {"decision": "accept"}).status_code == 404
    response = client.post(url(project, "review-decide", label_id=label.pk), {"decision": "maybe"}, follow=True)
    assert response.status_code == 200 and "Choose Accept or Reject" in response.content.decode()


def test_a_race_lost_in_the_service_is_a_message(labeled, client_for, monkeypatch):
    """The queue said pending, then someone else reviewed it first: the service's Conflict is shown."""
    project, label = labeled["project"], labeled["comparison"]
    real = labeling_services.label_review

    def late(**kwargs):
        real(label_id=label.pk, reviewer=labeled["members"][Role.ADMIN], accept=True)
        return real(**kwargs)

    monkeypatch.setattr(labeling_services, "label_review", late)
    response = client_for(labeled["members"][Role.REVIEWER]).post(
        url(project, "review-decide", label_id=label.pk), {"decision": "accept"}, follow=True
    )
    assert response.status_code == 200
    assert f"Label #{label.pk}: This label was already accepted." in response.content.decode()


def test_review_reads_each_label_with_its_versions_schema(project, members, staff, publish, client_for):
    """A label written under v1's schema is shown with v1's questions after v2 renamed them."""
    project = configure(project, demonstrations=False, k=2)
    labeler = members[Role.LABELER]
    use_schema(project, staff, CUSTOM_SCHEMA)
    make_prompt(project, "Reverse a list.", ["xs[::-1]", "sorted(xs)"], track="code")
    ready(project, labeler, publish, staff)
    assignment = labeling_services.work_item_claim_next(project=project, user=labeler)
    a, b = (str(cid) for cid in assignment.display_order)
    labeling_services.ranking_submit(
        assignment_id=assignment.pk,
        user=labeler,
        payload={
            "ranks": {a: 1, b: 2},
            "answers": {
                a: {"quality": 5, "correct": True, "tone": "casual", "issues": ["typo"], "why": "Idiom.\nShort."},
                b: {"quality": 2, "correct": False, "tone": "rude", "why": "Sorts."},
            },
            "strength": "clearly",
            "rationale": "The idiom.",
        },
    )
    renamed = json.loads(json.dumps(CUSTOM_SCHEMA))
    renamed["questions"][0] |= {"label": "Overall grade", "max": 7}
    renamed["strength"]["levels"][0]["label"] = "Way better"
    renamed["tracks"][1]["label"] = "Programming"
    use_schema(project, staff, renamed)
    publish(project, staff, "# Guidelines v2\n", note="Rename")
    acknowledge(project, members[Role.REVIEWER])

    html = client_for(members[Role.REVIEWER]).get(url(project, "review")).content.decode()
    assert '<span class="badge badge-track" title="code">Code</span>' in html
    assert "first is: Clearly better" in html and "Way better" not in html
    assert 'Quality <span class="muted">(1–5)</span>:' in html and "Overall grade" not in html
    assert "<strong>5 (great)</strong>" in html and "<strong>2</strong>" in html
    assert "Correct:" in html and "<strong>yes</strong>" in html and "<strong>no</strong>" in html
    assert "<strong>casual</strong>" in html and "<strong>rude</strong>" in html
    assert '<span class="tag">typo</span>' in html
    assert '<span class="prewrap" dir="auto">Idiom.\nShort.</span>' in html
    assert html.count("Issues:\n                      <strong>—</strong>") == 1  # optional, unanswered by b
