"""consensus=majority on an item only one labeler labeled (after filters): a majority of one, so that
label's pairs pass unchanged. The export says so: the streamed response in X-Labelhub-Note, a snapshot's
manifest in "notes" with the count of such items."""

import json

import pytest

from labelhub.exports import services
from labelhub.exports.models import ExportSnapshot, SnapshotStatus
from labelhub.exports.params import MAJORITY_SINGLE_LABELER_NOTE, NOTE_HEADER

pytestmark = pytest.mark.django_db


def _get(client, project, query):
    response = client.get(f"/api/v1/projects/{project.pk}/exports/preferences.jsonl?{query}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    return response, [json.loads(line) for line in body.splitlines()]


def _pairs(rows):
    return sorted((r["metadata"]["chosen"]["candidate_id"], r["metadata"]["rejected"]["candidate_id"]) for r in rows)


def test_a_single_labeler_is_their_own_majority(golden, api):
    client = api(golden.users["eve"])
    response, majority = _get(client, golden.project, "consensus=majority&metadata=true&labeler=alice")
    _plain, alone = _get(client, golden.project, "metadata=true&labeler=alice")
    assert majority and _pairs(majority) == _pairs(alone)  # every pair of alice's passes
    assert all(r["metadata"]["votes"] == 1 and r["metadata"]["labelers"] == 1 for r in majority)
    assert response[NOTE_HEADER] == MAJORITY_SINGLE_LABELER_NOTE
    assert "single labeler" in response[NOTE_HEADER] and response[NOTE_HEADER].isascii()


def test_the_note_is_only_on_majority_exports(golden, api):
    response, _rows = _get(api(golden.users["eve"]), golden.project, "metadata=true")
    assert NOTE_HEADER not in response


def test_a_snapshot_manifest_says_it_and_counts_the_items(golden, api, staff):
    for query, single, notes in (
        ({"consensus": "majority", "labeler": "alice"}, True, [MAJORITY_SINGLE_LABELER_NOTE]),
        ({"consensus": "majority"}, False, [MAJORITY_SINGLE_LABELER_NOTE]),
        ({}, None, []),
    ):
        snap = services.snapshot_create(
            project=golden.project, user=staff, kind="preferences", raw={k: [v] for k, v in query.items()}, send=False
        )
        snap = services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id)
        assert snap.status == SnapshotStatus.DONE, snap.error
        manifest = ExportSnapshot.objects.get(pk=snap.pk).manifest
        assert manifest["notes"] == notes
        counts = manifest["counts"]
        if single is None:
            assert "single_labeler_items" not in counts
        elif single:  # alice alone: every item that gave rows had one labeler
            assert counts["single_labeler_items"] == counts["work_items"] > 0
        else:
            assert counts["single_labeler_items"] < counts["work_items"]
