"""The exports page: snapshots with live progress, the form that queues one, the download, and the
streaming examples. Admins and engineers only; everyone else gets 404, as in the API.

No broker: the build task's apply_async is replaced by a recorder (`sent`); builds run directly."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from labelhub.exports import services as export_services
from labelhub.exports import tasks
from labelhub.exports.forms import SnapshotForm
from labelhub.exports.models import ExportSnapshot, SnapshotStatus
from labelhub.projects import services as project_services
from labelhub.projects.models import GuidelineVersion, Project, Role
from labelhub.projects.rubric import HHH

from ..exports import builders as b
from ..factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
XSS = '<script>alert("x")</script>'
ALLOWED = (Role.ADMIN, Role.ENGINEER)
REFUSED = (Role.LABELER, Role.REVIEWER, "outsider")


@pytest.fixture
def sent(monkeypatch):
    """What would have gone to the broker: the kwargs of each snapshot_build_task.apply_async."""
    calls = []
    monkeypatch.setattr(tasks.snapshot_build_task, "apply_async", lambda *a, **kw: calls.append(kw))
    return calls


@pytest.fixture
def exp(site, staff, sent):
    """`site` plus labels to export (one comparison, one demonstration) and a queued snapshot."""
    project, labeler = site["project"], site["members"][Role.LABELER]
    version = GuidelineVersion.objects.filter(project=project).latest("number")
    p1, (good, bad) = b.prompt(project, "Which answer is better?", candidates=["A good answer.", "A bad answer."])
    b.label(b.comparison(project, p1, [good, bad]), labeler, version, ranks={good: 1, bad: 2})
    p2, _ = b.prompt(project, "Greet me.")
    b.label(b.demonstration_item(project, p2), labeler, version, content="Hello!")
    snapshot = export_services.snapshot_create(project=project, user=staff, kind="preferences", raw={})
    return {**site, "snapshot": snapshot, "labeler": labeler}


def url(project, name, snapshot=None):
    kwargs = {"project_id": project.pk}
    if snapshot is not None:
        kwargs["snapshot_id"] = snapshot if isinstance(snapshot, int) else snapshot.pk
    return reverse(f"projects:exports:{name}", kwargs=kwargs)


def build(snapshot) -> ExportSnapshot:
    snapshot.refresh_from_db()
    return export_services.snapshot_build(snapshot_id=snapshot.pk, task_id=snapshot.task_id)


# Role matrix -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALLOWED + REFUSED)
def test_list_by_role(exp, client_for, role):
    response = client_for(exp["members"][role]).get(url(exp["project"], "list"))
    assert response.status_code == (200 if role in ALLOWED else 404)
    if role not in ALLOWED:
        assert exp["project"].name not in response.content.decode()


@pytest.mark.parametrize("role", ALLOWED + REFUSED)
def test_create_by_role(exp, client_for, role, django_capture_on_commit_callbacks):
    before = ExportSnapshot.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(exp["members"][role]).post(url(exp["project"], "create"), {"kind": "sft"})
    if role in ALLOWED:
        assert response.status_code == 302
        assert ExportSnapshot.objects.count() == before + 1
    else:
        assert response.status_code == 404
        assert ExportSnapshot.objects.count() == before


@pytest.mark.parametrize("role", ALLOWED + REFUSED)
def test_download_and_row_by_role(exp, client_for, role):
    build(exp["snapshot"])
    client = client_for(exp["members"][role])
    download = client.get(url(exp["project"], "download", exp["snapshot"]))
    row = client.get(url(exp["project"], "snapshot", exp["snapshot"]), headers=HTMX)
    expected = 200 if role in ALLOWED else 404
    assert (download.status_code, row.status_code) == (expected, expected)


def test_anonymous_visitors_go_to_login_and_create_nothing(exp, client_for):
    project, snapshot = exp["project"], exp["snapshot"]
    anonymous = client_for(None)
    for target in (url(project, "list"), url(project, "download", snapshot), url(project, "snapshot", snapshot)):
        response = anonymous.get(target)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={target}"
    response = anonymous.post(url(project, "create"), {"kind": "sft"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert ExportSnapshot.objects.count() == 1


def test_wrong_methods(exp, client_for):
    client = client_for(exp["members"][Role.ADMIN])
    assert client.get(url(exp["project"], "create")).status_code == 405
    assert client.post(url(exp["project"], "list")).status_code == 405
    assert client.post(url(exp["project"], "download", exp["snapshot"])).status_code == 405


def test_nav_link_only_for_roles_that_can_export(exp, client_for):
    target = url(exp["project"], "list")
    detail = reverse("projects:detail", args=[exp["project"].pk])
    for role in (Role.ADMIN, Role.ENGINEER, Role.LABELER, Role.REVIEWER):
        html = client_for(exp["members"][role]).get(detail).content.decode()
        assert (f'href="{target}"' in html) == (role in ALLOWED), role
    html = client_for(exp["members"][Role.ENGINEER]).get(target).content.decode()
    assert f'href="{target}" aria-current="page">Exports</a>' in html


# The list ----------------------------------------------------------------------------------------


def test_list_shows_snapshots_newest_first_with_their_details(exp, client_for, staff):
    project = exp["project"]
    queued = exp["snapshot"]
    done = build(export_services.snapshot_create(project=project, user=staff, kind="sft", raw={"metadata": ["true"]}))
    failed = ExportSnapshot.objects.create(
        project=project, created_by=None, kind="kto", format="trl-kto", params={"format": "trl-kto"},
        status=SnapshotStatus.FAILED, error="The export failed (OperationalError); try again.",
    )  # fmt: skip
    assert done.status == SnapshotStatus.DONE and done.rows == 1
    html = client_for(exp["members"][Role.ENGINEER]).get(url(project, "list")).content.decode()
    positions = [html.index(f'id="snapshot-{s.pk}"') for s in (failed, done, queued)]
    assert positions == sorted(positions)  # newest first
    # The done one: rows, size, short digest with the full one in a title, options, creator, a link.
    assert f'<code title="{done.sha256}">{done.sha256[:12]}…</code>' in html
    assert '<dt>metadata</dt><dd class="break">true</dd>' in html
    assert url(project, "download", done) in html and ">staff<" in html
    assert html.count(">Download</a>") == 1
    assert "The export failed (OperationalError); try again." in html
    assert '<span class="badge badge-queued">Queued</span>' in html
    assert '<span class="badge badge-failed">Failed</span>' in html
    assert '<span class="badge badge-done">Done</span>' in html


def test_queued_and_running_rows_poll_until_finished(exp, client_for, monkeypatch):
    project, snapshot = exp["project"], exp["snapshot"]
    client = client_for(exp["members"][Role.ADMIN])
    row_url = url(project, "snapshot", snapshot)
    html = client.get(url(project, "list")).content.decode()
    assert f'hx-get="{row_url}" hx-trigger="every 2s" hx-swap="outerHTML"' in html
    # Running: progress from the worker's figures.
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.RUNNING, started_at=timezone.now())
    monkeypatch.setattr(
        export_services, "snapshot_progress",
        lambda s: {"labels_done": 5, "labels_total": 20, "rows": 7, "percent": 25},
    )  # fmt: skip
    response = client.get(row_url, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert body.lstrip().startswith(f'<tr id="snapshot-{snapshot.pk}"') and "<html" not in body
    assert 'hx-trigger="every 2s"' in body and "Running" in body
    assert 'value="25"' in body and "5 / 20 labels" in body
    monkeypatch.undo()
    # Done: the row has no trigger any more, so polling stops.
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.QUEUED)
    build(snapshot)
    body = client.get(row_url, headers=HTMX).content.decode()
    assert "hx-trigger" not in body and "hx-get" not in body and ">Download</a>" in body
    assert "hx-trigger" not in client.get(url(project, "list")).content.decode()
    # Without htmx the row URL is the list, at the row.
    response = client.get(row_url)
    assert response.status_code == 302 and response["Location"] == f"{url(project, 'list')}#snapshot-{snapshot.pk}"


def test_a_snapshot_nothing_happens_to_stops_polling(exp, client_for):
    snapshot = exp["snapshot"]
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(created_at=timezone.now() - timedelta(hours=1))
    html = client_for(exp["members"][Role.ADMIN]).get(url(exp["project"], "list")).content.decode()
    assert "hx-trigger" not in html and "No worker has picked it up yet" in html
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(
        status=SnapshotStatus.RUNNING, started_at=timezone.now() - timedelta(hours=2)
    )
    html = client_for(exp["members"][Role.ADMIN]).get(url(exp["project"], "list")).content.decode()
    assert "hx-trigger" not in html and "the worker may have stopped" in html


def test_htmx_list_returns_the_table_only(exp, client_for):
    response = client_for(exp["members"][Role.ADMIN]).get(url(exp["project"], "list"), headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="snapshot-table"')
    assert "<html" not in body and "New snapshot" not in body and "HX-Request" in response["Vary"]


def test_list_is_paged(exp, client_for, staff, monkeypatch):
    from labelhub.exports import views

    monkeypatch.setattr(views, "SNAPSHOTS_PER_PAGE", 1)
    newer = export_services.snapshot_create(project=exp["project"], user=staff, kind="kto", raw={})
    client = client_for(exp["members"][Role.ADMIN])
    page1 = client.get(url(exp["project"], "list")).content.decode()
    assert f'id="snapshot-{newer.pk}"' in page1 and f'id="snapshot-{exp["snapshot"].pk}"' not in page1
    page2 = client.get(url(exp["project"], "list"), {"before": newer.pk}).content.decode()
    assert f'id="snapshot-{exp["snapshot"].pk}"' in page2 and f'id="snapshot-{newer.pk}"' not in page2
    assert client.get(url(exp["project"], "list"), {"before": "x"}).status_code == 404


def test_empty_list(site, client_for):
    html = client_for(site["members"][Role.ENGINEER]).get(url(site["project"], "list")).content.decode()
    assert "No snapshots yet." in html and "hx-trigger" not in html


def test_streaming_examples(exp, client_for):
    project = exp["project"]
    html = client_for(exp["members"][Role.ENGINEER]).get(url(project, "list")).content.decode()
    base = f"http://testserver/api/v1/projects/{project.pk}/exports"
    auth = "-H &quot;Authorization: Token $LABELHUB_TOKEN&quot;"
    for path in ("sft.jsonl", "preferences.jsonl?format=trl-preference&amp;pairs=all", "kto.jsonl", "rankings.jsonl"):
        assert f"{auth} -o {path.split('?')[0]} &quot;{base}/{path}&quot;" in html, path
    assert f'href="{reverse("profile")}"' in html
    assert "<code>#labelhub-export-error</code>" in html and "ends with a newline" in html
    assert "exits with code 18" in html and "<code>requests</code>" in html and "<code>httpx</code>" in html


# Creating a snapshot -----------------------------------------------------------------------------


def test_a_valid_post_queues_a_snapshot_and_its_file_downloads_byte_for_byte(
    exp, client_for, sent, django_capture_on_commit_callbacks
):
    project = exp["project"]
    client = client_for(exp["members"][Role.ENGINEER])
    sent.clear()
    form = {
        "kind": "preferences", "format": "trl-preference", "guideline_version": ">=1", "since": "2020-01-01",
        "track": ["helpful"], "labeler": exp["labeler"].username, "split": "", "consensus": "",
        "metadata": "on", "pairs": "", "include_edits": "", "test_ratio": "", "review": "",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(project, "create"), form)
    snapshot = ExportSnapshot.objects.latest("id")
    assert response.status_code == 302
    assert response["Location"] == f"{url(project, 'list')}#snapshot-{snapshot.pk}"
    assert snapshot.status == SnapshotStatus.QUEUED and snapshot.created_by == exp["members"][Role.ENGINEER]
    assert (snapshot.kind, snapshot.format) == ("preferences", "trl-preference")
    assert snapshot.params == {
        "format": "trl-preference", "guideline_version": ">=1", "since": "2020-01-01T00:00:00+00:00",
        "track": "helpful", "labeler": exp["labeler"].username, "metadata": "true",
    }  # fmt: skip
    assert sent == [
        {"kwargs": {"snapshot_id": snapshot.pk, "task_id": snapshot.task_id}, "queue": "exports",
         "task_id": snapshot.task_id},
    ]  # fmt: skip
    page = client.get(response["Location"]).content.decode()
    assert f"Snapshot #{snapshot.pk} queued: preferences, trl-preference." in page

    # Not done yet: 409, with the reason.
    response = client.get(url(project, "download", snapshot))
    assert response.status_code == 409 and "it can be downloaded once done" in response.content.decode()

    done = build(snapshot)
    assert done.status == SnapshotStatus.DONE and done.rows == 1, done.error
    response = client.get(url(project, "download", snapshot))
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert body == export_services.snapshot_path(done).read_bytes() and body.endswith(b"\n")
    assert response["X-Labelhub-SHA256"] == hashlib.sha256(body).hexdigest() == done.sha256
    assert response["Content-Disposition"] == f'attachment; filename="{done.filename}"'
    assert b'"metadata"' in body


def test_options_that_do_not_apply_to_the_kind_are_left_out(exp, client_for, django_capture_on_commit_callbacks):
    client = client_for(exp["members"][Role.ADMIN])
    data = {"kind": "sft", "pairs": "adjacent", "include_edits": "on", "metadata": "on", "guideline_version": " "}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(exp["project"], "create"), data, follow=True)
    snapshot = ExportSnapshot.objects.latest("id")
    assert response.status_code == 200
    assert snapshot.kind == "sft" and snapshot.params == {"format": "trl-messages", "metadata": "true"}
    assert "Left out, as they do not apply to sft exports: pairs, include_edits." in response.content.decode()


def test_form_builds_raw_from_non_empty_fields_only():
    form = SnapshotForm(
        {"kind": "kto", "track": ["helpful", "red-team"], "since": "2026-01-02", "labeler": " ann, 3 ",
         "pairs": "adjacent", "include_edits": "on", "split": "test", "test_ratio": "0.2", "consensus": ""},
        tracks=[("helpful", "Helpful"), ("red-team", "Red team")],
    )  # fmt: skip
    assert form.is_valid(), form.errors
    kind, raw, dropped = form.service_input()
    assert kind == "kto" and dropped == ["pairs"]
    assert raw == {
        "track": ["helpful", "red-team"], "since": ["2026-01-02"], "labeler": ["ann, 3"], "split": ["test"],
        "test_ratio": ["0.2"], "include_edits": ["true"],
    }  # fmt: skip


BAD = [
    ({"kind": "sft", "consensus": "majority"}, "consensus: Unknown value &#x27;majority&#x27;"),
    ({"kind": "sft", "format": "trl-kto"}, "format: Unknown value &#x27;trl-kto&#x27;"),
    ({"kind": "preferences", "test_ratio": "0.2"}, "Only with split=train or split=test."),
    ({"kind": "preferences", "split": "train", "test_ratio": "2"}, "A number between 0 and 1"),
    ({"kind": "kto", "guideline_version": "99"}, "the project has no version 99."),
    ({"kind": "kto", "guideline_version": "two"}, "A version number, several (2,3)"),
    ({"kind": "rankings", "labeler": "nobody"}, "no labeler &#x27;nobody&#x27; in this project."),
    ({"kind": "rankings", "since": "2026-02-01", "until": "2026-01-01"}, "Must be later than since."),
    ({"kind": "rankings", "since": "yesterday"}, "Enter a valid date."),
    ({"kind": "everything"}, "Select a valid choice."),
    ({}, "This field is required."),
]


@pytest.mark.parametrize(("data", "message"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_options_re_render_the_form_with_400_and_create_nothing(
    exp, client_for, sent, data, message, django_capture_on_commit_callbacks
):
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(exp["members"][Role.ENGINEER]).post(url(exp["project"], "create"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert 'id="new-snapshot"' in html and 'id="snapshot-table"' in html  # the whole page again
    assert ExportSnapshot.objects.count() == 1 and sent == []


def test_htmx_post(exp, client_for, django_capture_on_commit_callbacks):
    client = client_for(exp["members"][Role.ADMIN])
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(url(exp["project"], "create"), {"kind": "rankings"}, headers=HTMX)
    snapshot = ExportSnapshot.objects.latest("id")
    assert ok.status_code == 200 and snapshot.kind == "rankings"
    body = ok.content.decode()
    assert body.lstrip().startswith('<section id="snapshot-table"') and f'id="snapshot-{snapshot.pk}"' in body
    bad = client.post(url(exp["project"], "create"), {"kind": "sft", "consensus": "majority"}, headers=HTMX)
    assert bad.status_code == 400
    assert bad.content.decode().lstrip().startswith('<form id="new-snapshot"')
    assert ExportSnapshot.objects.count() == 2


# Downloads ---------------------------------------------------------------------------------------


def test_snapshots_of_another_project_are_404(exp, client_for, staff, make_project):
    other = make_project("Other")  # staff is an admin of both
    theirs = build(export_services.snapshot_create(project=other, user=staff, kind="sft", raw={}))
    assert theirs.status == SnapshotStatus.DONE
    client = client_for(staff)
    mine = exp["project"]
    assert client.get(url(mine, "download", theirs)).status_code == 404
    assert client.get(url(mine, "snapshot", theirs), headers=HTMX).status_code == 404
    assert client.get(url(other, "download", theirs)).status_code == 200
    assert client.get(url(mine, "download", 999999)).status_code == 404


def test_a_failed_snapshot_is_not_downloadable(exp, client_for):
    snapshot = exp["snapshot"]
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.FAILED, error=f"Bad {XSS}")
    response = client_for(exp["members"][Role.ADMIN]).get(url(exp["project"], "download", snapshot))
    html = response.content.decode()
    assert response.status_code == 409 and "The snapshot is failed" in html
    assert XSS not in html and "Bad &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_a_done_snapshot_whose_file_is_gone_is_404(exp, client_for):
    snapshot = build(exp["snapshot"])
    export_services.snapshot_path(snapshot).unlink()
    assert client_for(exp["members"][Role.ADMIN]).get(url(exp["project"], "download", snapshot)).status_code == 404


# Escaping ----------------------------------------------------------------------------------------


def test_user_supplied_strings_are_escaped(exp, client_for, staff):
    project = exp["project"]
    Project.objects.filter(pk=project.pk).update(name=f"Proj {XSS}")
    creator = UserFactory(username=f"<b>{XSS}</b>")
    ExportSnapshot.objects.create(
        project=project, created_by=creator, kind="sft", format="trl-messages",
        params={"format": "trl-messages", "labeler": XSS, "guideline_version": '">=2" onmouseover="x'},
        status=SnapshotStatus.FAILED, error=f"Error {XSS}",
    )  # fmt: skip
    client = client_for(exp["members"][Role.ADMIN])
    pages = [
        client.get(url(project, "list")),
        client.post(url(project, "create"), {"kind": "sft", "labeler": XSS}),  # echoed in the error
        client.get(url(project, "list"), headers=HTMX),
    ]
    assert pages[1].status_code == 400
    for response in pages:
        html = response.content.decode()
        assert XSS not in html and "<script>alert" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        assert 'onmouseover="x' not in html
    full = pages[0].content.decode()
    assert "Proj &lt;script&gt;" in full and "&lt;b&gt;&lt;script&gt;" in full and "Error &lt;script&gt;" in full
    assert "no labeler &#x27;&lt;script&gt;" in pages[1].content.decode()


def test_track_choices_come_from_the_schemas_escaped(exp, client_for, staff):
    """The track boxes are the tracks of the project's labeling schemas (the current one first, then
    those only older versions had), their labels escaped."""
    project = exp["project"]
    schema = {
        "tracks": [{"name": "poems", "label": f"Poems {XSS}", "description": ""}],
        "questions": [{"name": "nice", "type": "binary", "label": f"Nice {XSS}", "required": False}],
    }
    project_services.guideline_draft_save(project=project, user=staff, schema=schema)
    project_services.guideline_version_publish(project=project, user=staff, change_note="poems", content="# v3")
    html = client_for(exp["members"][Role.ADMIN]).get(url(project, "list")).content.decode()
    boxes = re.findall(r'name="track" value="([^"]+)"', html)
    assert boxes == ["poems", *(t.name for t in HHH.tracks)]
    assert XSS not in html and "Poems &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; (poems)" in html


# Admin -------------------------------------------------------------------------------------------


def test_admin_is_read_only(exp, client_for):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = client_for(root)
    changelist = reverse("admin:exports_exportsnapshot_changelist")
    change = reverse("admin:exports_exportsnapshot_change", args=[exp["snapshot"].pk])
    response = client.get(changelist, {"q": exp["project"].name, "status__exact": "queued", "kind": "preferences"})
    assert response.status_code == 200 and change in response.content.decode()
    assert change not in client.get(changelist, {"q": "no such project"}).content.decode()
    assert client.get(reverse("admin:exports_exportsnapshot_add")).status_code == 403
    assert client.get(change).status_code == 200  # viewable
    assert client.post(change, {"kind": "sft"}).status_code == 403
    delete = reverse("admin:exports_exportsnapshot_delete", args=[exp["snapshot"].pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ExportSnapshot.objects.filter(pk=exp["snapshot"].pk, kind="preferences").exists()
