"""Files on disk: snapshot downloads and prompt imports read only their own files, whatever the URL
or a tampered database row says; uploads are never served; files that are served go out as
`application/jsonl` attachments with `nosniff`, never as something a browser renders."""

import hashlib
import os
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import get_resolver

from labelhub.exports import services as export_services
from labelhub.exports.models import ExportSnapshot
from labelhub.projects.models import Role
from labelhub.prompts import services as prompt_services
from labelhub.prompts.models import ImportStatus, Prompt, PromptImport

from .access_fixtures import _no_broker, session_client, token_client, two_projects  # noqa: F401
from .access_world import SNAPSHOT_BYTES
from .test_idor import content

pytestmark = pytest.mark.django_db

OUTSIDE = b'{"stolen": "SECRET-OUTSIDE-MEDIA"}\n'


@pytest.fixture
def outside(tmp_path):
    """A file next to MEDIA_ROOT (not in it), which no request may read or delete."""
    path = tmp_path / "outside.jsonl"
    path.write_bytes(OUTSIDE)
    return path


def _downloads(w, snapshot_id):
    p = w.project.pk
    return (
        f"/api/v1/projects/{p}/snapshots/{snapshot_id}/download",
        f"/projects/{p}/exports/{snapshot_id}/download/",
    )


@pytest.mark.parametrize(
    "snapshot_id",
    [
        "..%2f..%2f..%2fetc%2fpasswd",
        "..%2F1",
        "1%2f..%2f..%2fsettings.py",
        "..",
        "%2e%2e",
        "1/../../1",
        "1%00",
        "-1",
        "1.0",
        "0x1",
    ],
)
def test_ids_that_look_like_paths_are_404(two_projects, token_client, session_client, snapshot_id):
    a, _b = two_projects
    engineer = a.users[Role.ENGINEER]
    api_url, web_url = _downloads(a, snapshot_id)
    for client, url in ((token_client(engineer), api_url), (session_client(engineer), web_url)):
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert b"root:" not in content(response) and SNAPSHOT_BYTES not in content(response)


def _tamper(snapshot, file_name):
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(file_name=file_name)
    snapshot.refresh_from_db()


def test_a_tampered_snapshot_row_cannot_read_or_delete_other_files(two_projects, token_client, outside):
    """A stored file name is never trusted as a path: "..", absolute paths, another project's file
    and a symlink out of the directory are all refused (404), and deleting the snapshot removes no
    file but its own."""
    a, b = two_projects
    snapshot, theirs = a["snapshot"], b["snapshot"]
    media = Path(settings.MEDIA_ROOT)
    own_dir = media / "exports" / str(a.project.pk)
    link_name = f"{snapshot.key}-{'0' * 12}.jsonl"
    (own_dir / link_name).symlink_to(outside)
    names = [
        "../../../outside.jsonl",
        os.path.relpath(outside, own_dir),
        str(outside),
        f"../{b.project.pk}/{theirs.file_name}",  # B's snapshot file, through A's row
        f"{snapshot.file_name}/../../{b.project.pk}/{theirs.file_name}",
        link_name,  # a well-formed name, but a symlink out of the directory
        "..",
        ".",
        "/etc/passwd",
    ]
    names = [n for n in names if len(n) <= ExportSnapshot._meta.get_field("file_name").max_length]
    assert len(names) >= 8
    api = token_client(a.users[Role.ADMIN])
    for name in names:
        _tamper(snapshot, name)
        assert export_services.snapshot_path(snapshot) is None, name
        response = api.get(_downloads(a, snapshot.pk)[0])
        assert response.status_code == 404, (name, response.status_code)
        body = content(response)
        assert OUTSIDE not in body and SNAPSHOT_BYTES not in body, name
    # Deleting the tampered snapshot deletes the row only.
    _tamper(snapshot, f"../{b.project.pk}/{theirs.file_name}")
    assert api.delete(f"/api/v1/projects/{a.project.pk}/snapshots/{snapshot.pk}").status_code == 204
    assert not ExportSnapshot.objects.filter(pk=snapshot.pk).exists()
    assert outside.read_bytes() == OUTSIDE
    assert export_services.snapshot_path(theirs).read_bytes() == SNAPSHOT_BYTES


def test_a_tampered_snapshot_row_is_404_on_the_web_page(two_projects, session_client, outside):
    a, _b = two_projects
    _tamper(a["snapshot"], "../../../outside.jsonl")
    response = session_client(a.users[Role.ENGINEER]).get(_downloads(a, a["snapshot"].pk)[1])
    assert response.status_code == 404
    assert OUTSIDE not in content(response)


def test_a_well_formed_snapshot_file_is_still_served(two_projects, token_client, session_client):
    """The check refuses only what labelhub never writes (control)."""
    a, _b = two_projects
    snapshot = a["snapshot"]
    assert export_services.snapshot_path(snapshot).read_bytes() == SNAPSHOT_BYTES
    engineer = a.users[Role.ENGINEER]
    api_url, web_url = _downloads(a, snapshot.pk)
    for response in (token_client(engineer).get(api_url), session_client(engineer).get(web_url)):
        assert response.status_code == 200
        assert content(response) == SNAPSHOT_BYTES


def test_a_tampered_import_row_cannot_read_or_delete_other_files(two_projects, outside):
    """The worker imports only the upload it spooled: a stored path elsewhere (another directory,
    "..", a symlink out) fails the import with nothing read into prompts and nothing deleted."""
    a, _b = two_projects
    outside.write_bytes(b'{"prompt": "SECRET-OUTSIDE-MEDIA"}\n')
    imports = Path(settings.MEDIA_ROOT) / "imports"
    imports.mkdir(parents=True, exist_ok=True)
    link = imports / f"{uuid.uuid4().hex}.upload"
    link.symlink_to(outside)
    for stored in (str(outside), str(imports / ".." / ".." / outside.name), str(link), str(imports / "x.upload")):
        imp = PromptImport.objects.create(
            project=a.project,
            filename="p.jsonl",
            file_format="jsonl",
            file_path=stored,
            size_bytes=10,
            total_lines=1,
        )
        done = prompt_services.prompt_import_run(import_id=imp.pk)
        assert done.status == ImportStatus.FAILED, (stored, done.status)
        assert not Prompt.objects.filter(text__contains="SECRET-OUTSIDE-MEDIA").exists()
        assert outside.exists(), stored
    assert link.is_symlink()


def test_a_spooled_import_is_still_imported(two_projects):
    """Control: an upload where spool_upload puts it is read, then deleted."""
    a, _b = two_projects
    imp = prompt_services.prompt_import_start(
        project=a.project, user=a.users[Role.ADMIN], chunks=iter([b'{"prompt": "A fresh one"}\n']), filename="p.jsonl"
    )
    assert imp.status == ImportStatus.DONE, imp.message
    assert not Path(imp.file_path).exists()


def test_media_root_is_never_served(two_projects, token_client, session_client):
    """Uploads and snapshot files have no URL: MEDIA_URL is not routed (Django serves media only via
    an explicit static() route, whitenoise only STATIC_ROOT), and a spooled upload holding HTML is
    unreachable by any guess."""
    a, _b = two_projects
    media = Path(settings.MEDIA_ROOT)
    imports = media / "imports"
    imports.mkdir(parents=True, exist_ok=True)
    upload = imports / f"{uuid.uuid4().hex}.upload"
    upload.write_bytes(b"<html><script>alert(1)</script>SECRET-UPLOAD</html>\n")
    (media / "page.html").write_bytes(b"<html>SECRET-UPLOAD</html>")
    snapshot = a["snapshot"]
    rel_upload = upload.relative_to(media).as_posix()
    guesses = [
        f"/{settings.MEDIA_URL.strip('/')}/{rel_upload}" if settings.MEDIA_URL.strip("/") else None,
        f"/media/{rel_upload}",
        f"/{rel_upload}",
        "/media/page.html",
        "/page.html",
        f"/static/../media/{rel_upload}",
        f"/static/..%2fmedia%2f{rel_upload}",
        f"/media/{snapshot.relative_path}",
        f"/{snapshot.relative_path}",
    ]
    clients = [session_client(a.users[Role.ADMIN]), token_client(a.users[Role.ADMIN]), session_client()]
    for url in filter(None, guesses):
        for client in clients:
            response = client.get(url)
            assert response.status_code in (302, 404), (url, response.status_code)
            body = content(response)
            assert b"SECRET-UPLOAD" not in body and SNAPSHOT_BYTES not in body, url
    # Nothing routes MEDIA_URL, and the two roots do not overlap.
    media_url = settings.MEDIA_URL.strip("/")
    if media_url:
        assert not [p for p in get_resolver().url_patterns if str(p.pattern).startswith(media_url)]
    static_root = Path(settings.STATIC_ROOT).resolve()
    assert not media.resolve().is_relative_to(static_root) and not static_root.is_relative_to(media.resolve())
    for d in settings.STATICFILES_DIRS:
        assert not media.resolve().is_relative_to(Path(d).resolve())
    assert not getattr(settings, "WHITENOISE_ROOT", None)


HTML = b"<html><body><script>alert(document.cookie)</script></body></html>\n"


def test_served_files_are_attachments_never_html(two_projects, token_client, session_client):
    """Snapshot downloads (API and page) and the streamed exports: application/jsonl, an attachment,
    nosniff, whatever the file holds and whatever the client says it accepts."""
    a, _b = two_projects
    snapshot = a["snapshot"]
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(sha256=hashlib.sha256(HTML).hexdigest(), size_bytes=len(HTML))
    export_services.snapshot_path(snapshot).write_bytes(HTML)
    engineer = a.users[Role.ENGINEER]
    api, web = token_client(engineer), session_client(engineer)
    api_url, web_url = _downloads(a, snapshot.pk)
    p = a.project.pk
    requests = [(api, api_url), (web, web_url)]
    requests += [(api, f"/api/v1/projects/{p}/exports/{k}.jsonl") for k in ("sft", "preferences", "kto", "rankings")]
    for client, url in requests:
        for accept in ("*/*", "text/html", "text/html,application/xhtml+xml"):
            response = client.get(url, HTTP_ACCEPT=accept)
            if accept != "*/*" and response.status_code == 406:
                continue  # the API declines to answer in HTML at all
            assert response.status_code == 200, (url, accept, response.status_code)
            assert response["Content-Type"].startswith("application/jsonl"), (url, response["Content-Type"])
            assert response["Content-Disposition"].startswith("attachment;"), (url, response["Content-Disposition"])
            assert response["X-Content-Type-Options"] == "nosniff", url
            if url in (api_url, web_url):
                assert content(response) == HTML
            else:
                content(response)
