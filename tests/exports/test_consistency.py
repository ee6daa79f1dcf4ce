"""An export reads one snapshot of the database, and a failure midway is visible to the client."""

import json
import threading

import httpx
import pytest
from django.db import connection

from labelhub.exports import selectors
from labelhub.projects import services as project_services
from labelhub.prompts.models import Candidate

from ..processes import require_services, start_gunicorn, stop
from . import builders as b


def _seed(project, user, version, n, *, start=0, size=20):
    items = []
    for i in range(start, start + n):
        p, cands = b.prompt(project, f"question {i}", candidates=[f"good {i} " + "x" * size, f"bad {i} " + "y" * size])
        item = b.comparison(project, p, cands)
        b.label(item, user, version, ranks={cands[0]: 1, cands[1]: 2}, strength="better")
        items.append((item, cands))
    return items


def _in_other_thread(fn):
    errors = []

    def run():
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.mark.django_db(transaction=True)
def test_rows_written_during_an_export_do_not_appear_in_it(project, members, staff, api, monkeypatch, settings):
    if connection.vendor != "postgresql":
        pytest.skip("REPEATABLE READ snapshot: PostgreSQL")
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="x")
    items = _seed(project, members["labeler"], version, 30)
    # Small batches and one line per chunk: the export reads labels and candidates in many queries.
    settings.EXPORT_BATCH_LABELS = 4
    monkeypatch.setattr(selectors, "CHUNK_BYTES", 1)
    response = api(members["engineer"]).get(f"/api/v1/projects/{project.pk}/exports/preferences.jsonl")
    stream = iter(response.streaming_content)
    received = [next(stream)]  # the export is under way: its snapshot is taken

    def write_meanwhile():
        _seed(project, members["reviewer"], version, 5, start=100)  # new labels, later in the order
        _item, last_cands = items[-1]
        Candidate.objects.filter(pk=last_cands[0].pk).update(content="REWRITTEN")  # read by a later batch

    _in_other_thread(write_meanwhile)
    received += list(stream)
    lines = b"".join(received).splitlines()
    assert len(lines) == 30
    chosen = [json.loads(line)["chosen"][0]["content"] for line in lines]
    assert "REWRITTEN" not in chosen and chosen[-1].startswith("good 29 ")
    # A new export sees everything.
    after = api(members["engineer"]).get(f"/api/v1/projects/{project.pk}/exports/preferences.jsonl")
    assert len(b"".join(after.streaming_content).splitlines()) == 35


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_stream_that_fails_midway_cannot_pass_for_complete(project, members, staff, tmp_path):
    """Under gunicorn (as in production): the database connection of a running export is killed.
    The client gets the error marker line and a connection dropped without the final chunk."""
    require_services()
    from labelhub.accounts.services import api_token_create

    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="x")
    _seed(project, members["labeler"], version, 400, size=20_000)  # ~16 MB: more than socket buffers hold
    _token, key = api_token_create(user=members["engineer"], name="stream")
    server = start_gunicorn(tmp_path, env={"EXPORT_BATCH_LABELS": "50"})
    url = f"{server.url}/api/v1/projects/{project.pk}/exports/preferences.jsonl"
    headers = {"Authorization": f"Token {key}"}
    try:
        # First, a complete export: a clean end of stream, every line JSON, ending in a newline.
        with httpx.stream("GET", url, headers=headers, timeout=60) as response:
            assert response.status_code == 200
            assert response.headers["transfer-encoding"] == "chunked"
            body = b"".join(response.iter_bytes())
        assert body.endswith(b"\n") and body.count(b"\n") == 400
        # Now kill the export's database session after the first bytes.
        received = b""
        with (
            pytest.raises(httpx.RemoteProtocolError),
            httpx.stream("GET", url, headers=headers, timeout=60) as response,
        ):
            chunks = response.iter_raw()
            received += next(chunks)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'"
                )
                assert cursor.fetchone(), "the export's session was not found"
            for chunk in chunks:
                received += chunk
        assert received.rstrip(b"\n").endswith(selectors.ERROR_MARKER.rstrip(b"\n"))
        assert received.count(b"\n") < 400  # it failed midway, and says so
        assert "failed midway" in server.log.read_text()
    finally:
        stop(server)
