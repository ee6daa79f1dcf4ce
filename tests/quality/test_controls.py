"""Quarantine, gold items, adaptive overlap and adjudication, through the services and the API."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from labelhub.labeling import services as labeling
from labelhub.labeling.models import Assignment, AssignmentStatus, Label, Quarantine, WorkItem
from labelhub.projects import services as project_services
from labelhub.quality import services
from labelhub.quality.models import QualityAction, QualityEvent

from ..exports import builders as b
from ..exports.test_golden import CASES
from ..factories import UserFactory


def _export(client, project, kind, query):
    response = client.get(f"/api/v1/projects/{project.pk}/exports/{kind}.jsonl?{query}")
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def _labeler(project, username, version):
    """A member who labels and does not review (reviewers are served only items without labels)."""
    user = UserFactory(username=username)
    project_services.membership_add(project=project, username=username, role="labeler")
    project_services.guideline_acknowledge(project=project, user=user, number=version.number)
    return user


# --- quarantine ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_quarantine_removes_exactly_that_labelers_rows_from_every_export(golden, api, staff):
    client = api(golden.users["eve"])
    bob = golden.users["bob"]
    before = {case: _export(client, golden.project, *case) for case in CASES}
    without_bob = {case: _export(client, golden.project, case[0], case[1] + "&exclude_labeler=bob") for case in CASES}
    url = f"/api/v1/projects/{golden.project.pk}/labelers/{bob.pk}/quarantine"
    response = api(staff).post(url, {"reason": "Flipped gold items"}, format="json")
    assert response.status_code == 201, response.content
    for case in CASES:
        assert _export(client, golden.project, *case) == without_bob[case], case
        assert _export(client, golden.project, case[0], case[1] + "&exclude_quarantined=false") == before[case], case
    assert any(before[case] != without_bob[case] for case in CASES)  # bob had rows to remove
    event = QualityEvent.objects.get(action=QualityAction.QUARANTINE)
    assert event.actor == staff and event.subject == bob and event.reason == "Flipped gold items"


@pytest.mark.django_db
def test_quarantine_requeues_items_blocks_claims_and_release_restores(project, members, api, staff, publish):
    version = publish(project, staff, "# v1")
    labeler, reviewer = members["labeler"], members["reviewer"]
    p, cands = b.prompt(project, "q", candidates=["a", "b"])
    item = b.comparison(project, p, cands, overlap=1)
    b.label(item, labeler, version, ranks={cands[0]: 1, cands[1]: 2}, strength="better")
    item.refresh_from_db()
    assert item.taken == item.label_count == 1  # full: nobody else gets it
    services.labeler_quarantine(project=project, user_id=labeler.pk, actor=staff, reason="too fast")
    item.refresh_from_db()
    assert item.taken == item.label_count == 0  # back in the queue for others
    project_services.guideline_acknowledge(project=project, user=labeler, number=version.number)
    project_services.guideline_acknowledge(project=project, user=reviewer, number=version.number)
    response = api(labeler).post(f"/api/v1/projects/{project.pk}/work/next", {"kind": "comparison"}, format="json")
    assert response.status_code == 403 and "paused" in response.json()["message"]
    # Not to the reviewer: they may have seen the item's label in review (blind labeling).
    assert labeling.work_item_claim_next(project=project, user=reviewer) is None
    other = _labeler(project, "other-labeler", version)
    assert labeling.work_item_claim_next(project=project, user=other).work_item_id == item.pk
    with pytest.raises(Exception, match="already quarantined"):
        services.labeler_quarantine(project=project, user_id=labeler.pk, actor=staff, reason="again")
    services.labeler_release(project=project, user_id=labeler.pk, actor=staff, reason="reviewed: fine")
    assert not Quarantine.objects.filter(active=True).exists()
    item.refresh_from_db()
    assert item.taken == 1 and item.label_count == 0  # the other labeler holds the slot; no over-filling
    assert [e.action for e in QualityEvent.objects.order_by("id")] == ["quarantine", "release"]


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "status"), [("admin", 201), ("engineer", 403), ("labeler", 403), ("outsider", 404)])
def test_quarantine_role_matrix(project, members, api, who, status):
    target = members["reviewer"]
    response = api(members[who]).post(
        f"/api/v1/projects/{project.pk}/labelers/{target.pk}/quarantine", {"reason": "x"}, format="json"
    )
    assert response.status_code == status


@pytest.mark.django_db
def test_quarantine_needs_a_reason_and_a_member(project, members, api):
    client = api(members["admin"])
    url = f"/api/v1/projects/{project.pk}/labelers/{members['labeler'].pk}/quarantine"
    assert client.post(url, {"reason": "  "}, format="json").status_code == 400
    assert client.post(url, {}, format="json").status_code == 400
    outsider = f"/api/v1/projects/{project.pk}/labelers/{members['outsider'].pk}/quarantine"
    assert client.post(outsider, {"reason": "x"}, format="json").status_code == 404
    assert not Quarantine.objects.exists()


# --- gold ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_gold_items_are_served_at_the_rate_and_look_like_any_other(project, members, api, staff, publish):
    version = publish(project, staff, "# v1")
    labeler = members["labeler"]
    project_services.guideline_acknowledge(project=project, user=labeler, number=version.number)
    items = []
    for i in range(6):
        p, cands = b.prompt(project, f"q{i}", candidates=[f"good {i}", f"bad {i}"])
        items.append((b.comparison(project, p, cands), cands))
    gold_item, gold_cands = items[3]
    client = api(members["admin"])
    response = client.put(
        f"/api/v1/work-items/{gold_item.pk}/gold",
        {"pairs": [[gold_cands[0].pk, gold_cands[1].pk]], "note": "good beats bad"},
        format="json",
    )
    assert response.status_code == 200, response.content
    gold_item.refresh_from_db()
    assert gold_item.is_gold and gold_item.overlap == services.GOLD_OVERLAP
    # Rate 0: gold never served; labeler gets the 5 ordinary items, then nothing.
    project_services.project_update(project=project, data={"gold_rate": 0.0})
    project.refresh_from_db()
    seen = []
    work = api(labeler)
    while True:
        response = work.post(f"/api/v1/projects/{project.pk}/work/next", {"kind": "comparison"}, format="json")
        if response.status_code == 204:
            break
        task = response.json()
        assert "gold" not in json.dumps(task).lower()  # nothing gives it away
        seen.append(task["id"])
        work.post(f"/api/v1/work-items/{task['id']}/skip", {"reason": "test"}, format="json")
    assert gold_item.pk not in seen and len(seen) == 5
    # Rate 0.5 for another labeler: the gold item comes early, as an ordinary-looking task.
    other = members["reviewer"]
    project_services.guideline_acknowledge(project=project, user=other, number=version.number)
    project_services.project_update(project=project, data={"gold_rate": 0.5})
    got = [api(other).post(f"/api/v1/projects/{project.pk}/work/next", {}, format="json").json()["id"]]
    assert set(got) <= {i.pk for i, _ in items}


@pytest.mark.django_db
def test_gold_validation_and_unset(project, members, api, staff):
    p, cands = b.prompt(project, "q", candidates=["a", "b", "c"])
    item = b.comparison(project, p, cands)
    client = api(members["admin"])
    url = f"/api/v1/work-items/{item.pk}/gold"
    for body in (
        {},
        {"pairs": [[cands[0].pk, 999999]]},
        {"pairs": [[cands[0].pk, cands[1].pk], [cands[1].pk, cands[0].pk]]},
        {"flags": {str(cands[0].pk): ["not a project flag"]}},
        {"flags": {str(cands[0].pk): [["hallucination"]]}},
        {"pairs": [[{"a": 1}, cands[1].pk]]},
        {"ranking": {str(cands[0].pk): [1], str(cands[1].pk): 2}},
        {"all_bad": True, "pairs": [[cands[0].pk, cands[1].pk]]},
        {"ranking": {str(cands[0].pk): 1}},
        {"secret": 1},
    ):
        assert client.put(url, body, format="json").status_code == 400, body
    assert api(members["engineer"]).put(url, {"all_bad": True}, format="json").status_code == 403
    assert api(members["outsider"]).put(url, {"all_bad": True}, format="json").status_code == 404
    body = {"ranking": {str(c.pk): r for r, c in enumerate(cands, 1)}, "flags": {str(cands[2].pk): ["hallucination"]}}
    ok = client.put(url, body, format="json")
    assert ok.status_code == 200 and len(ok.json()["pairs"]) == 3
    assert client.get(f"/api/v1/projects/{project.pk}/gold").json()["results"][0]["work_item_id"] == item.pk
    assert client.delete(url, {"reason": "wrong expectation"}, format="json").status_code == 204
    item.refresh_from_db()
    assert not item.is_gold and item.overlap == project.comparison_overlap


def test_gold_correct_rules():
    gold = {"pairs": [["1", "2"]], "flags": {"2": ["hallucination"]}, "all_bad": None}
    assert services.gold_correct(gold, ranks={"1": 1, "2": 2}, flags={"2": ["hallucination"]}, all_bad=False)
    assert not services.gold_correct(gold, ranks={"1": 1, "2": 1}, flags={"2": ["hallucination"]}, all_bad=False)
    assert not services.gold_correct(gold, ranks={"1": 1, "2": 2}, flags={}, all_bad=False)
    expects_all_bad = {"pairs": [], "flags": {}, "all_bad": True}
    assert not services.gold_correct(expects_all_bad, ranks={"1": 1}, flags={}, all_bad=False)


# --- adaptive overlap and adjudication --------------------------------------------------------------


@pytest.mark.django_db
def test_disagreement_asks_for_more_labels_then_a_reviewer(project, members, api, staff, publish):
    version = publish(project, staff, "# v1")
    project_services.project_update(project=project, data={"max_overlap": 3, "comparison_overlap": 2})
    project.refresh_from_db()
    p, (a, c) = b.prompt(project, "q", candidates=["a", "b"])
    item = b.comparison(project, p, [a, c], overlap=2)
    # Reviewers label an item only before anyone else did (blind labeling): the reviewer first.
    users = [members["labeler"], members["reviewer"], _labeler(project, "third-labeler", version)]

    def submit(user, ranks, strength):
        project_services.guideline_acknowledge(project=project, user=user, number=version.number)
        task = labeling.work_item_claim_next(project=project, user=user)
        assert task.work_item_id == item.pk
        ratings = {str(x.pk): {"helpful": 5, "truthful": 5, "harmless": 5} for x in (a, c)}
        return labeling.ranking_submit(
            user=user, assignment_id=task.pk, payload={"ranks": ranks, "ratings": ratings, "strength": strength}
        )

    submit(users[1], {str(a.pk): 2, str(c.pk): 1}, "better")
    item.refresh_from_db()
    assert item.overlap == 2  # not complete yet: nothing decided
    submit(users[0], {str(a.pk): 1, str(c.pk): 2}, "better")  # the opposite: disagreement
    item.refresh_from_db()
    assert item.overlap == 3 and not item.needs_adjudication
    submit(users[2], {str(a.pk): 1, str(c.pk): 2}, "negligibly_better")  # unsure, at the cap
    item.refresh_from_db()
    assert item.overlap == 3 and item.needs_adjudication
    assert [e.action for e in QualityEvent.objects.order_by("id")] == ["overlap_raised", "adjudication_needed"]
    queue = api(members["reviewer"]).get(f"/api/v1/projects/{project.pk}/adjudications").json()["results"]
    assert queue[0]["work_item_id"] == item.pk and len(queue[0]["labels"]) == 3
    keep = Label.objects.get(user=users[0])
    url = f"/api/v1/work-items/{item.pk}/adjudicate"
    assert api(members["labeler"]).post(url, {"keep_label": keep.pk, "comment": "x"}, format="json").status_code == 403
    assert api(members["reviewer"]).post(url, {"keep_label": keep.pk}, format="json").status_code == 400
    own = Label.objects.get(user=users[1])
    mine = api(members["reviewer"]).post(url, {"keep_label": own.pk, "comment": "mine"}, format="json")
    assert mine.status_code == 403
    response = api(members["reviewer"]).post(url, {"keep_label": keep.pk, "comment": "a is right"}, format="json")
    assert response.status_code == 200, response.content
    item.refresh_from_db()
    assert not item.needs_adjudication
    assert dict(Label.objects.values_list("user__username", "review_status")) == {
        users[0].username: "accepted",
        users[1].username: "rejected",
        users[2].username: "rejected",
    }
    assert WorkItem.objects.get(pk=item.pk).label_count == 3  # settled: no more labels asked for


@pytest.mark.django_db
def test_agreeing_labels_leave_the_overlap_alone(project, members, staff, publish):
    version = publish(project, staff, "# v1")
    p, (a, c) = b.prompt(project, "q", candidates=["a", "b"])
    item = b.comparison(project, p, [a, c], overlap=2)
    for user in (members["reviewer"], members["labeler"]):  # a reviewer only before anyone else (blind)
        project_services.guideline_acknowledge(project=project, user=user, number=version.number)
        task = labeling.work_item_claim_next(project=project, user=user)
        ratings = {str(x.pk): {"helpful": 5, "truthful": 5, "harmless": 5} for x in (a, c)}
        labeling.ranking_submit(
            user=user, assignment_id=task.pk,
            payload={"ranks": {str(a.pk): 1, str(c.pk): 2}, "ratings": ratings, "strength": "better"},
        )  # fmt: skip
    item.refresh_from_db()
    assert item.overlap == 2 and not item.needs_adjudication and not QualityEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_disagreement_check_runs_inside_the_submit_transaction(project, members, staff, publish, monkeypatch):
    """Labeling does not import quality: it sends labeling.signals.comparison_item_completed, which
    quality connects (quality/apps.py). The check still sees the new label uncommitted, and a check
    that fails rolls the whole submit back (no label, the lease still live)."""
    version = publish(project, staff, "# v1")
    p, (a, c) = b.prompt(project, "q", candidates=["a", "b"])
    item = b.comparison(project, p, [a, c], overlap=1)
    user = members["labeler"]
    project_services.guideline_acknowledge(project=project, user=user, number=version.number)
    task = labeling.work_item_claim_next(project=project, user=user)
    seen = []

    def failing_check(*, work_item_id):
        seen.append((work_item_id, connection.in_atomic_block, Label.objects.filter(work_item_id=work_item_id).count()))
        raise RuntimeError("the check failed")

    monkeypatch.setattr(services, "item_check_disagreement", failing_check)
    ratings = {str(x.pk): {"helpful": 5, "truthful": 5, "harmless": 5} for x in (a, c)}
    payload = {"ranks": {str(a.pk): 1, str(c.pk): 2}, "ratings": ratings, "strength": "better"}
    with pytest.raises(RuntimeError, match="the check failed"):
        labeling.ranking_submit(user=user, assignment_id=task.pk, payload=payload)
    assert seen == [(item.pk, True, 1)]  # called once, inside the transaction, the label visible to it
    assert not Label.objects.exists()
    assert Assignment.objects.get(pk=task.pk).status == AssignmentStatus.ACTIVE
    item.refresh_from_db()
    assert (item.taken, item.label_count) == (1, 0)


# --- stats and leaderboard APIs -------------------------------------------------------------------


@pytest.mark.django_db
def test_stats_and_leaderboard_apis(golden, api, staff, monkeypatch):
    services.project_stats_refresh(project_id=golden.project.pk)
    client = api(golden.users["eve"])
    stats = client.get(f"/api/v1/projects/{golden.project.pk}/stats").json()
    assert stats["data"]["labels"] == 12  # 13 labels, one rejected in review
    assert {r["username"] for r in stats["data"]["labelers"]} == {"alice", "bob", "carol"}
    assert [row["name"] for row in stats["data"]["leaderboard"]][:2] and stats["data"]["win_matrix"]
    board = client.get(f"/api/v1/projects/{golden.project.pk}/leaderboard").json()
    assert [row["name"] for row in board["leaderboard"]][:2] and "labelers" not in board
    assert api(golden.users["alice"]).get(f"/api/v1/projects/{golden.project.pk}/stats").status_code == 403
    # The leaderboard names models: labelers and reviewers do not see it (403), nor in the stats.
    for name in ("alice", "carol"):
        refused = api(golden.users[name]).get(f"/api/v1/projects/{golden.project.pk}/leaderboard")
        assert refused.status_code == 403 and b"smol-a" not in refused.content
    reviewer = api(golden.users["carol"]).get(f"/api/v1/projects/{golden.project.pk}/stats")
    assert reviewer.status_code == 200 and reviewer.json()["data"]["labels"] == 12
    assert "leaderboard" not in reviewer.json()["data"] and "win_matrix" not in reviewer.json()["data"]
    assert b"smol-a" not in reviewer.content and b"smol-b" not in reviewer.content
    requested = []
    monkeypatch.setattr(services, "project_stats_request", lambda project_id: requested.append(project_id) or "sent")
    assert client.post(f"/api/v1/projects/{golden.project.pk}/stats/refresh").status_code == 202
    assert requested == [golden.project.pk]


@pytest.mark.django_db
def test_stats_are_refreshed_when_labels_change_and_a_failed_send_frees_the_lock(golden, monkeypatch):
    from django.core.cache import cache

    from labelhub.quality import tasks

    calls = []
    monkeypatch.setattr(tasks.project_stats_task, "apply_async", lambda **kw: calls.append(kw))
    cache.delete(f"labelhub:stats-requested:{golden.project.pk}")
    assert services.project_stats_refresh_due() == 1  # never computed
    assert services.project_stats_request(project_id=golden.project.pk) == services.STATS_IN_FLIGHT
    cache.delete(f"labelhub:stats-requested:{golden.project.pk}")
    services.project_stats_refresh(project_id=golden.project.pk)
    assert services.project_stats_refresh_due() == 0  # nothing changed since
    Label.objects.filter(pk=golden.labels["p1_bob"].pk).update(
        review_status="rejected", updated_at=timezone.now() + timedelta(seconds=1)
    )
    assert services.project_stats_refresh_due() == 1  # a review changed a label: once
    cache.delete(f"labelhub:stats-requested:{golden.project.pk}")

    def down(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.project_stats_task, "apply_async", down)
    assert services.project_stats_request(project_id=golden.project.pk) == services.STATS_UNAVAILABLE
    monkeypatch.setattr(tasks.project_stats_task, "apply_async", lambda **kw: calls.append(kw))
    assert services.project_stats_request(project_id=golden.project.pk) == services.STATS_SENT  # lock was freed
    cache.delete(f"labelhub:stats-requested:{golden.project.pk}")
