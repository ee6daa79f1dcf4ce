"""PostgreSQL restarted (and briefly down) under gunicorn, during labeling and during an export.

The web app runs against a cluster of the test's own (tests.processes.PostgresServer), loaded with a
copy of the rows the test seeded, so restarting it does not disturb the rest of the suite.

What must hold: every request caught by the outage is a clean 503 (JSON, Retry-After), never a
500; the service recovers by itself once PostgreSQL is back; a labeler who retries after a 503
loses nothing and labels nothing twice; an export cut by the restart cannot pass for complete."""

import json
import threading
import time

import httpx
import psycopg
import pytest

from labelhub.accounts.services import api_token_create
from labelhub.exports import selectors as export_selectors
from labelhub.labeling.services import work_items_sync
from labelhub.projects import services as project_services
from labelhub.prompts.models import Candidate, Prompt
from tests.factories import UserFactory

from ..exports.test_consistency import _seed as seed_comparisons
from ..processes import PostgresServer, database_url, require_services, start_gunicorn, stop

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OK = {200, 201, 204}


@pytest.fixture
def pg():
    require_services()
    server = PostgresServer()
    yield server
    server.destroy()


def _web(tmp_path, pg):
    return start_gunicorn(
        tmp_path,
        env={
            "DATABASE_URL": pg.url, "DEBUG": "false", "SECRET_KEY": "fault-test-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false", "EXPORT_BATCH_LABELS": "50",
        },
    )  # fmt: skip


def _seed_labeling(project, staff, n_prompts, n_labelers):
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="# G")
    prompts = Prompt.objects.bulk_create(
        Prompt(project=project, messages=[{"role": "user", "content": t}], text=t, content_hash=str(i).zfill(64))
        for i, t in enumerate(f"Question {i}?" for i in range(n_prompts))
    )
    Candidate.objects.bulk_create(
        Candidate(prompt=p, content=f"A{j} to {p.text}", source="imported") for p in prompts for j in range(2)
    )
    work_items_sync(project=project)
    tokens = []
    for i in range(n_labelers):
        user = UserFactory(username=f"fault-labeler-{i}")
        project_services.membership_add(project=project, username=user.username, role="labeler")
        project_services.guideline_acknowledge(project=project, user=user, number=version.number)
        tokens.append((user.pk, api_token_create(user=user, name="fault")[1]))
    return tokens


class Labeler(threading.Thread):
    """Claims and submits demonstrations until told to stop; retries a submit after a 503 with
    the same body (submits are idempotent), as a client honouring Retry-After does."""

    def __init__(self, base, project_id, token, stop_event):
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Token {token}"}, timeout=30)
        self.project_id, self.stop_event = project_id, stop_event
        self.log: list[tuple[float, str, int, bytes, str]] = []  # (sent at, what, status, body, retry-after)
        self.submitted: set[int] = set()  # work items whose submit was answered 2xx

    def call(self, what, url, body):
        sent_at = time.monotonic()
        try:
            r = self.client.post(url, json=body)
        except httpx.HTTPError as exc:  # the server itself must stay up: record it as a failure
            self.log.append((sent_at, what, -1, repr(exc).encode(), ""))
            return None
        self.log.append((sent_at, what, r.status_code, r.content[:300], r.headers.get("retry-after", "")))
        return r

    def run(self):
        while not self.stop_event.is_set():
            r = self.call("next", f"/api/v1/projects/{self.project_id}/work/next", {"kind": "demonstration"})
            if r is None or r.status_code != 200:
                time.sleep(0.2)
                continue
            item = r.json()["id"]
            body = {"content": f"Ideal answer for item {item}"}
            while not self.stop_event.is_set():  # retry the same submit until it is answered
                r = self.call("submit", f"/api/v1/work-items/{item}/demonstration", body)
                if r is not None and r.status_code in OK:
                    self.submitted.add(item)
                    break
                time.sleep(0.2)


def test_labeling_survives_a_postgres_restart_and_outage(project, staff, pg, tmp_path):
    tokens = _seed_labeling(project, staff, n_prompts=300, n_labelers=6)
    pg.load_from(database_url())
    web = _web(tmp_path, pg)
    stop_event = threading.Event()
    labelers = [Labeler(web.url, project.pk, token, stop_event) for _uid, token in tokens]
    try:
        for labeler in labelers:
            labeler.start()
        time.sleep(3)
        pg.restart()  # every open session is terminated; the server is back within a second or two
        time.sleep(3)
        pg.stop()
        down_at = time.monotonic()
        time.sleep(3)  # down: connections are refused
        pg.start()
        up_at = time.monotonic()
        time.sleep(6)
        stop_event.set()
        for labeler in labelers:
            labeler.join(timeout=60)
        health = httpx.get(f"{web.url}/healthz", timeout=5)
    finally:
        stop_event.set()
        stop(web)
    log = [entry for labeler in labelers for entry in labeler.log]
    statuses = {status for _t, _w, status, _b, _r in log}
    failures = [e for e in log if e[2] not in OK | {503}]
    assert not failures, failures[:5]
    outage = [e for e in log if e[2] == 503]
    assert outage, "no request hit the outage: the test did not test anything"
    assert any(down_at <= t <= up_at for t, *_ in outage)  # sent while it was down
    for _t, _what, _status, body, retry_after in outage:
        assert retry_after == "5"
        assert json.loads(body)["message"].startswith("The database is unavailable"), body
    # Recovery: requests sent once PostgreSQL is back all succeed (no connection left broken).
    after = [e for e in log if e[0] > up_at + 1]
    assert after and all(e[2] in OK for e in after), [e for e in after if e[2] not in OK][:3]
    assert health.status_code == 200
    assert statuses >= {200, 201, 503}

    # Nothing lost, nothing twice: read the restarted cluster.
    with psycopg.connect(pg.url.replace("postgres://", "postgresql://")) as conn:
        labels = conn.execute(
            "SELECT work_item_id, user_id FROM labeling_label WHERE project_id = %s", [project.pk]
        ).fetchall()
        counts = conn.execute(
            "SELECT w.id, w.label_count, w.overlap, count(l.id) FROM labeling_workitem w "
            "LEFT JOIN labeling_label l ON l.work_item_id = w.id WHERE w.project_id = %s "
            "GROUP BY w.id HAVING w.label_count <> count(l.id) OR count(l.id) > w.overlap",
            [project.pk],
        ).fetchall()
    assert len(labels) == len(set(labels)), "a labeler labeled an item twice"
    assert not counts, f"label counts out of step: {counts[:5]}"
    by_user = {}
    for item, user in labels:
        by_user.setdefault(user, set()).add(item)
    for (uid, _token), labeler in zip(tokens, labelers, strict=True):
        assert labeler.submitted <= by_user.get(uid, set()), "a submit answered 2xx is not in the database"
    assert sum(len(labeler.submitted) for labeler in labelers) >= 20


def test_an_export_cut_by_a_postgres_restart_cannot_pass_for_complete(project, members, staff, pg, tmp_path):
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="x")
    seed_comparisons(project, members["labeler"], version, 400, size=20_000)  # ~16 MB: more than socket buffers
    _token, key = api_token_create(user=members["engineer"], name="stream")
    pg.load_from(database_url())
    web = _web(tmp_path, pg)
    url = f"{web.url}/api/v1/projects/{project.pk}/exports/preferences.jsonl"
    headers = {"Authorization": f"Token {key}"}
    try:
        received = b""
        with (
            pytest.raises(httpx.RemoteProtocolError),
            httpx.stream("GET", url, headers=headers, timeout=60) as response,
        ):
            assert response.status_code == 200
            chunks = response.iter_raw()
            received += next(chunks)
            pg.restart()
            for chunk in chunks:
                received += chunk
        assert received.rstrip(b"\n").endswith(export_selectors.ERROR_MARKER.rstrip(b"\n"))
        assert received.count(b"\n") < 400
        # While PostgreSQL is down, an export is refused with a clean 503 (no 200 with an empty body).
        pg.stop()
        try:
            down = httpx.get(url, headers=headers, timeout=30)
        finally:
            pg.start()
        assert down.status_code == 503, down.content[:300]
        assert down.json()["message"].startswith("The database is unavailable")
        # Recovered: the same export runs to its end.
        with httpx.stream("GET", url, headers=headers, timeout=60) as response:
            assert response.status_code == 200
            body = b"".join(response.iter_bytes())
        assert body.count(b"\n") == 400 and export_selectors.ERROR_MARKER.rstrip(b"\n") not in body
    finally:
        stop(web)
