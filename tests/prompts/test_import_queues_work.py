"""A finished import makes its prompts labeling work. Prompts sits below labeling and does not import
it: the import sends prompts.signals.prompts_imported on commit, and labeling queues its work-item
sync (labeling/apps.py)."""

import json
import logging

import pytest

from labelhub.labeling import tasks as labeling_tasks
from labelhub.prompts import services
from labelhub.prompts.models import ImportStatus


def _start(project, user, body: bytes):
    return services.prompt_import_start(project=project, user=user, chunks=iter([body]), filename="p.jsonl")


def _body(n: int) -> bytes:
    return "".join(json.dumps({"prompt": f"Question {i}"}) + "\n" for i in range(n)).encode()


@pytest.fixture
def sync_sends(monkeypatch):
    calls = []
    monkeypatch.setattr(labeling_tasks.work_items_sync_task, "apply_async", lambda **kw: calls.append(kw))
    return calls


@pytest.mark.django_db
def test_a_finished_import_queues_the_work_item_sync_once_committed(
    project, staff, sync_sends, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        imp = _start(project, staff, _body(3))
        assert imp.status == ImportStatus.DONE, imp.message
        assert sync_sends == []  # not before the prompts are committed
    assert sync_sends == [{"kwargs": {"project_id": project.pk}}]


@pytest.mark.django_db
def test_a_failed_import_queues_nothing(project, staff, sync_sends, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        imp = _start(project, staff, b"{not json\n")
    assert imp.status == ImportStatus.FAILED and sync_sends == []


@pytest.mark.django_db
def test_an_unreachable_broker_leaves_the_import_done(
    project, staff, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def refuse(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(labeling_tasks.work_items_sync_task, "apply_async", refuse)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        imp = _start(project, staff, _body(2))
    assert imp.status == ImportStatus.DONE, imp.message
    assert f"could not queue the work item sync for project {project.pk}: ConnectionError" in caplog.text
