"""Ids and cursors from clients go through core.ids: a cursor that decodes to a non-id and a user id
written in Unicode digits are 400/404 JSON, never a 500 (they were 500s: `int()` and the query)."""

import base64
from urllib.parse import urlencode

import pytest

from labelhub.labeling.models import Label
from labelhub.projects.models import Role

pytestmark = pytest.mark.django_db

# The position inside a DRF cursor: what a client can forge by base64-encoding its own query string.
BAD_POSITIONS = ["abc", "1e5", "-1", "1.5", "", "99999999999999999999", "9" * 5000, "²", "①", "١٢", " 7", "0x1f"]
UNICODE_IDS = ["²", "①", "١٢", "𝟙", "1²", "9" * 40]


def _cursor(position: str) -> str:
    return base64.b64encode(urlencode({"p": position}).encode()).decode()


def _assert_json_error(response, statuses=(400, 404)):
    assert response.status_code in statuses, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "extra"} and body["message"]
    return body


@pytest.fixture
def lists(project, members, api):
    """Every cursor-paginated list: (client, path)."""
    p = project.pk
    return [
        (api(members[Role.ADMIN]), f"/api/v1/projects/{p}/prompts"),
        (api(members[Role.LABELER]), f"/api/v1/projects/{p}/my-labels"),
        (api(members[Role.ADMIN]), f"/api/v1/projects/{p}/snapshots"),
        (api(members[Role.ADMIN]), f"/api/v1/projects/{p}/gold"),
    ]


@pytest.mark.parametrize("position", BAD_POSITIONS)
def test_a_forged_cursor_is_a_404_on_every_list(lists, position):
    for client, path in lists:
        response = client.get(path, {"cursor": _cursor(position)})
        body = _assert_json_error(response, (404,))
        assert body["message"] == "Invalid cursor", path


def test_a_real_cursor_still_pages(ready, lists):
    client, path = lists[0]
    first = client.get(path, {"page_size": 4}).json()  # six prompts (the `ready` fixture)
    second = client.get(first["next"]).json()
    assert len(first["results"]) == 4 and len(second["results"]) == 2
    assert client.get(path, {"cursor": _cursor("7")}).status_code == 200  # a well-formed id: a page


@pytest.mark.parametrize("value", UNICODE_IDS)
@pytest.mark.parametrize("key", ["labeler", "exclude_labeler"])
def test_unicode_digits_as_a_labeler_are_a_400(project, members, api, key, value):
    client = api(members[Role.ADMIN])
    response = client.get(f"/api/v1/projects/{project.pk}/exports/preferences.jsonl", {key: value})
    body = _assert_json_error(response, (400,))
    assert key in body["extra"]["fields"]


@pytest.mark.parametrize("value", [*UNICODE_IDS, ["①", "2"], 1e5, -1])
def test_unicode_digits_in_a_snapshot_body_are_a_400_and_create_nothing(project, members, api, value):
    client = api(members[Role.ADMIN])
    response = client.post(
        f"/api/v1/projects/{project.pk}/snapshots", {"kind": "preferences", "labeler": value}, format="json"
    )
    _assert_json_error(response, (400,))
    assert not project.export_snapshots.exists()


def test_a_labeler_by_ascii_id_still_resolves(project, members, api):
    client = api(members[Role.ADMIN])
    labeler = members[Role.LABELER]
    response = client.get(f"/api/v1/projects/{project.pk}/exports/preferences.jsonl", {"labeler": str(labeler.pk)})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["²", "①", "١٢", "abc", "-1", 1.5, True])
def test_a_source_candidate_that_is_not_an_id_is_a_400(ready, members, api, value):
    client = api(members[Role.LABELER])
    task = client.post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json").json()
    response = client.post(
        f"/api/v1/work-items/{task['id']}/demonstration",
        {"content": "An answer.", "source_candidate": value},
        format="json",
    )
    body = _assert_json_error(response, (400,))
    assert set(body["extra"]["fields"]) == {"source_candidate"}
    assert not Label.objects.filter(work_item_id=task["id"]).exists()
