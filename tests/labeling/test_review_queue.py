"""The review queue: filters (each narrows, they combine, they stay in the URL), keyset pages, decisions
that keep the filters and page (and, with htmx, swap just the card), and the reviewers' guidelines gate
(page and API). The browser side (keyboard, staying in place) is tests/e2e/test_review_browser.py."""

import sqlite3

import pytest
from django.urls import reverse

from labelhub.labeling import review_views, selectors
from labelhub.labeling.models import Label, ReviewStatus, WorkItem
from labelhub.labeling.selectors import ANY_FLAG, UNSAFE, JsonHolds, ReviewFilters
from labelhub.projects import services as project_services
from labelhub.projects.models import Role
from tests.exports import builders
from tests.factories import UserFactory
from tests.workbench_helpers import configure, make_prompt, ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(project, members, staff, publish):
    """Twelve labels waiting: by two labelers, on two tracks, of both kinds, some flagged or judged
    unsafe, under guidelines v1 (the first eight) and v2 (the last four). The reviewer acknowledged v2."""
    project = configure(project, k=2)
    alice = members[Role.LABELER]
    bob = UserFactory(username="bob")
    project_services.membership_add(project=project, username="bob", role=Role.LABELER)
    for i in range(3):
        make_prompt(project, f"Helpful question {i}", [f"A{i}", f"B{i}"], track="helpful")
        make_prompt(project, f"Harmless question {i}", [f"C{i}", f"D{i}"], track="harmless")
    v1 = ready(project, alice, publish, staff)
    items = list(WorkItem.objects.filter(project=project).select_related("prompt").order_by("id"))
    assert len(items) == 12
    v2 = None
    labels = []
    for n, item in enumerate(items):
        if n == 8:
            v2 = publish(project, staff, "# Guidelines\n\nBe helpful.\n\nAnd brief.\n", note="brief")
        user = alice if n % 2 == 0 else bob
        fields = {"content": f"Answer {n}."}
        if item.kind == "comparison":
            first, second = (str(c) for c in item.candidate_ids)
            fields = {"ranks": {first: 1, second: 2}}
            if n % 3 == 0:
                fields["flags"] = {second: ["hallucination", "wrong language"]}
            if n % 4 == 1:
                fields["safety"] = {first: "safe", second: "unsafe"}
            elif item.prompt.track == "harmless":
                fields["safety"] = {first: "safe", second: "safe"}
        labels.append(builders.label(item, user, v2 or v1, **fields))
    reviewer = members[Role.REVIEWER]
    project_services.guideline_acknowledge(project=project, user=reviewer, number=v2.number)
    return {"project": project, "reviewer": reviewer, "alice": alice, "bob": bob, "labels": labels, "v1": v1, "v2": v2}


def _ids(queue, **filters) -> list[int]:
    page = selectors.review_queue_page(
        project=queue["project"], reviewer=queue["reviewer"], limit=100, filters=ReviewFilters(**filters)
    )
    return [label.pk for label in page["labels"]]


def _expected(queue, keep) -> list[int]:
    return [
        label.pk for label in Label.objects.filter(pk__in=[x.pk for x in queue["labels"]]).order_by("id") if keep(label)
    ]


def _flags(label) -> set[str]:
    return {flag for flags in label.flags.values() for flag in flags}


def test_each_filter_narrows_the_queue_and_they_combine(queue):
    everything = _ids(queue)
    assert everything == _expected(queue, lambda label: True) and len(everything) == 12
    cases = {
        "labeler": ({"labeler": "bob"}, lambda label: label.user.username == "bob"),
        "track": ({"track": "harmless"}, lambda label: label.work_item.prompt.track == "harmless"),
        "kind": ({"kind": "comparison"}, lambda label: label.kind == "comparison"),
        "flag": ({"flag": "hallucination"}, lambda label: "hallucination" in _flags(label)),
        "any flag": ({"flag": ANY_FLAG}, lambda label: bool(_flags(label))),
        "unsafe": ({"flag": UNSAFE}, lambda label: "unsafe" in label.safety.values()),
        "version": ({"version": 2}, lambda label: label.guideline_version.number == 2),
        "labeler and kind": (
            {"labeler": "bob", "kind": "comparison"},
            lambda label: label.user.username == "bob" and label.kind == "comparison",
        ),
        "track and kind": (
            {"track": "helpful", "kind": "comparison"},
            lambda label: label.work_item.prompt.track == "helpful" and label.kind == "comparison",
        ),
    }
    for name, (filters, keep) in cases.items():
        got, want = _ids(queue, **filters), _expected(queue, keep)
        assert got == want, name
        assert 0 < len(got) < 12, name  # each one narrows, none empties the queue
    assert _ids(queue, flag="harmful content") == []  # an option nobody ticked


def test_the_json_conditions_have_a_tested_sqlite_twin():
    """JsonHolds' SQLite SQL, run on SQLite itself (the suite runs on PostgreSQL)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id INTEGER, flags TEXT)")
    rows = [(1, '{"3": ["hallucination", "x"]}'), (2, '{"3": [], "4": ["y"]}'), (3, "{}"), (4, '{"5": "unsafe"}')]
    db.executemany("INSERT INTO t VALUES (?, ?)", rows)

    def matching(sql: str, *params) -> list[int]:
        where = sql.format(col="flags", value="?")
        return [r[0] for r in db.execute(f"SELECT id FROM t WHERE {where} ORDER BY id", params)]  # noqa: S608 - constants only

    assert matching(JsonHolds.VALUE_SQL["sqlite"], "hallucination") == [1]
    assert matching(JsonHolds.VALUE_SQL["sqlite"], "unsafe") == [4]
    assert matching(JsonHolds.VALUE_SQL["sqlite"], "3") == []  # keys are not values
    assert matching(JsonHolds.ANY_SQL["sqlite"]) == [1, 2, 4]


def test_keyset_pages_forward_and_back(queue):
    project, reviewer = queue["project"], queue["reviewer"]
    ids = _ids(queue)

    def page(**kw):
        return selectors.review_queue_page(project=project, reviewer=reviewer, limit=5, **kw)

    first = page()
    assert [x.pk for x in first["labels"]] == ids[:5]
    assert (first["prev_before"], first["next_after"], int(first["total"])) == (None, ids[4], 12)
    second = page(after=first["next_after"])
    assert [x.pk for x in second["labels"]] == ids[5:10]
    assert (second["prev_before"], second["next_after"]) == (ids[5], ids[9])
    third = page(after=second["next_after"])
    assert [x.pk for x in third["labels"]] == ids[10:] and third["next_after"] is None
    back = page(before=third["labels"][0].pk)
    assert [x.pk for x in back["labels"]] == ids[5:10]
    assert (back["prev_before"], back["next_after"]) == (ids[5], ids[9])
    assert page(before=ids[5])["prev_before"] is None  # the first page again


def _url(project, name="review", **kwargs):
    return reverse(f"projects:labeling:{name}", kwargs={"project_id": project.pk, **kwargs})


def test_the_page_keeps_the_filters_in_the_url_and_pages(queue, client_for, monkeypatch):
    monkeypatch.setattr(review_views, "REVIEW_PAGE_SIZE", 2)
    project = queue["project"]
    client = client_for(queue["reviewer"])
    want = _ids(queue, kind="comparison", track="helpful")
    assert len(want) == 3
    response = client.get(_url(project), {"kind": "comparison", "track": "helpful", "flag": "", "labeler": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="comparison" selected>' in html and '<option value="helpful" selected>' in html
    assert [f'id="label-{pk}"' in html for pk in want] == [True, True, False]
    assert '<span class="count">3</span>' in html and "(filtered)" in html
    assert f'href="?kind=comparison&amp;track=helpful&amp;flag=&amp;labeler=&amp;after={want[1]}" rel="next"' in html
    assert 'name="return" value="track=helpful&amp;kind=comparison"' in html
    html = client.get(_url(project), {"kind": "comparison", "track": "helpful", "after": want[1]}).content.decode()
    assert f'id="label-{want[2]}"' in html and f'id="label-{want[0]}"' not in html
    assert f"before={want[2]}" in html and 'rel="prev"' in html and "← Oldest" in html
    assert client.get(_url(project), {"after": "x"}).status_code == 404  # a malformed cursor
    html = client.get(_url(project), {"kind": "nonsense", "labeler": "<b>x</b>"}).content.decode()
    assert html.count('class="card review-item"') == 2  # an unknown value is dropped, not a 500
    monkeypatch.setattr(review_views, "REVIEW_PAGE_SIZE", 20)
    combined = {"labeler": "bob", "version": "1", "kind": "comparison"}
    html = client.get(_url(project), combined).content.decode()
    want = _ids(queue, labeler="bob", version=1, kind="comparison")
    assert want and html.count('class="card review-item"') == len(want)
    assert all(f'id="label-{pk}"' in html for pk in want)


def test_a_decision_without_js_returns_to_the_same_filters_page_and_next_label(queue, client_for):
    project, reviewer = queue["project"], queue["reviewer"]
    first, second = _ids(queue, kind="comparison")[:2]
    response = client_for(reviewer).post(
        _url(project, "review-decide", label_id=first),
        {"decision": "accept", "return": "kind=comparison&after=3&evil=https://x.example/", "then": str(second)},
    )
    assert response.status_code == 302
    assert response["Location"] == _url(project) + f"?kind=comparison&after=3#label-{second}"
    assert Label.objects.get(pk=first).review_status == ReviewStatus.ACCEPTED


def test_a_decision_with_htmx_swaps_just_the_card(queue, client_for):
    project, reviewer = queue["project"], queue["reviewer"]
    first, second = _ids(queue)[:2]
    client = client_for(reviewer)
    htmx = {"HX-Request": "true"}
    response = client.post(
        _url(project, "review-decide", label_id=first),
        {"decision": "reject", "comment": "Too <b>short</b>."},
        headers=htmx,
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.strip().startswith(f'<article class="card review-item review-decided" id="label-{first}"')
    assert "Rejected" in html and "Too &lt;b&gt;short&lt;/b&gt;." in html
    # Refused (no comment): the message goes in the card's error slot, the card stays.
    response = client.post(_url(project, "review-decide", label_id=second), {"decision": "reject"}, headers=htmx)
    assert response["HX-Retarget"] == f"#label-{second}-error"
    assert "Say why the label is rejected." in response.content.decode()
    assert Label.objects.get(pk=second).review_status == ReviewStatus.PENDING


def test_a_reviewer_meets_the_guidelines_gate_before_any_label(queue, client_for, staff, publish, api):
    project, reviewer = queue["project"], queue["reviewer"]
    publish(project, staff, "# Guidelines\n\nBe helpful.\n\nAnd brief.\n\n- Cite **sources**.\n", note="sources")
    client = client_for(reviewer)
    html = client.get(_url(project)).content.decode()
    assert "Read the guidelines before you review" in html and "You acknowledged version 2" in html
    assert "<li>Cite <strong>sources</strong>.</li>" in html and "bd-ins" in html and "@@" not in html
    assert "review-item" not in html and "Answer 0." not in html
    assert 'action="' + _url(project, "review-acknowledge") + '"' in html
    label = queue["labels"][0]
    response = api(reviewer).post(f"/api/v1/labels/{label.pk}/review", {"accept": True}, format="json")
    assert response.status_code == 409
    assert "acknowledge guidelines version 3" in str(response.json())
    # The page's decision refuses the same way, then the acknowledgement opens the queue.
    client.post(_url(project, "review-decide", label_id=label.pk), {"decision": "accept"})
    assert Label.objects.get(pk=label.pk).review_status == ReviewStatus.PENDING
    response = client.post(_url(project, "review-acknowledge"), {"number": 3}, follow=True)
    assert response.redirect_chain == [(_url(project), 302)]
    assert f'id="label-{label.pk}"' in response.content.decode()
    response = api(reviewer).post(f"/api/v1/labels/{label.pk}/review", {"accept": True}, format="json")
    assert response.status_code == 200
