import io
import json

import pytest

from labelhub.projects.models import Role
from labelhub.prompts.models import Candidate, ImportStatus, ProjectTag, Prompt, PromptImport


def _post(client, project, content: bytes, name="prompts.jsonl"):
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(f"/api/v1/projects/{project.pk}/prompts/import", {"file": upload}, format="multipart")


def _lines(*records) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else json.dumps(r).encode() for r in records) + b"\n"


@pytest.fixture
def admin(api, members):
    return api(members[Role.ADMIN])


GOOD = {"prompt": "What is 2+2?"}


@pytest.mark.django_db
def test_import_jsonl_with_every_field(admin, project):
    content = _lines(
        {
            "id": "a1",
            "prompt": "Say hi",
            "tags": ["greet", "short"],
            "track": "harmless",
            "metadata": {"src": "x"},
        },
        {
            "id": 7,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "How are you?"},
            ],
            "candidates": [{"content": "Fine.", "model": "m1"}, {"content": "Good, you?"}],
        },
    )
    response = _post(admin, project, content)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created"], body["skipped"], body["candidates"]) == (2, 0, 2)
    first = Prompt.objects.get(project=project, external_id="a1")
    assert first.messages == [{"role": "user", "content": "Say hi"}]
    assert first.track == "harmless" and first.tags == ["greet", "short"] and first.metadata == {"src": "x"}
    assert sorted(ProjectTag.objects.filter(project=project).values_list("name", flat=True)) == ["greet", "short"]
    second = Prompt.objects.get(project=project, external_id="7")
    assert second.text == "How are you?" and second.track == "helpful"
    cands = list(Candidate.objects.filter(prompt=second).order_by("id"))
    assert [c.content for c in cands] == ["Fine.", "Good, you?"]
    assert cands[0].source == "imported" and cands[0].model_name == "m1"
    assert cands[0].provenance["source"] == "imported"


@pytest.mark.django_db
def test_reimport_is_a_noop_reported_as_skipped(admin, project):
    content = _lines({"id": "x", "prompt": "one"}, {"prompt": "two"}, {"prompt": "two"})
    first = _post(admin, project, content).json()
    assert (first["created"], first["skipped"]) == (2, 1)
    second = _post(admin, project, content).json()
    assert (second["created"], second["skipped"]) == (0, 3)
    assert Prompt.objects.filter(project=project).count() == 2


BAD_LINES = [
    (b"{not json", "malformed JSON"),
    (json.dumps([1, 2]).encode(), "JSON object"),
    (json.dumps({"text": "x"}).encode(), "unknown key"),
    (json.dumps({"prompt": "   "}).encode(), "empty"),
    (
        json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}).encode(),
        "last message must be from the user",
    ),
    (json.dumps({"messages": [{"role": "robot", "content": "q"}]}).encode(), "unknown"),
    (json.dumps({"prompt": "nul \u0000 here"}).encode(), "NUL"),
    (b'{"prompt": "nul byte \x00 raw"}', "NUL"),
    (b'{"prompt": "lone \\ud800 surrogate"}', "surrogate"),
    (b'{"prompt": NaN}', "malformed JSON"),
    (b"\xff\xfe{}", "UTF-8"),
    (json.dumps({"prompt": "x", "track": "evil"}).encode(), "track"),
    (json.dumps({"prompt": "x", "tags": "notalist"}).encode(), "tags"),
    (json.dumps({"prompt": "x", "metadata": [1]}).encode(), "metadata"),
    (json.dumps({"prompt": "x", "candidates": [{"content": ""}]}).encode(), "candidates[0].content"),
    (json.dumps({"prompt": "x", "messages": []}).encode(), "exactly one"),
    (b'{"prompt": "deep", "metadata": ' + b'{"a":' * 3000 + b"1" + b"}" * 3000 + b"}", "nested"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("bad", "reason"), BAD_LINES, ids=[r for _, r in BAD_LINES])
def test_each_bad_line_is_reported_and_nothing_is_written(admin, project, bad, reason):
    content = _lines(GOOD, {"prompt": "fine too"}, bad, {"prompt": "after"})
    response = _post(admin, project, content)
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"message", "extra"}
    errors = body["extra"]["errors"]
    assert [e["line"] for e in errors] == [3], errors
    assert reason.lower() in errors[0]["message"].lower(), errors
    assert Prompt.objects.count() == 0 and Candidate.objects.count() == 0


@pytest.mark.django_db
def test_every_bad_line_is_listed_at_once(admin, project):
    content = _lines(b"{bad", GOOD, {"prompt": ""}, {"id": "d", "prompt": "a"}, {"id": "d", "prompt": "b"})
    body = _post(admin, project, content).json()
    assert [e["line"] for e in body["extra"]["errors"]] == [1, 3, 5]
    assert "duplicate id 'd' (first on line 4)" in body["extra"]["errors"][2]["message"]
    assert Prompt.objects.count() == 0


@pytest.mark.django_db
def test_line_over_the_size_limit(admin, project, settings):
    settings.PROMPT_IMPORT_MAX_LINE_BYTES = 1000
    content = _lines(GOOD, {"prompt": "x" * 5000}, {"prompt": "ok"})
    body = _post(admin, project, content).json()
    assert body["extra"]["errors"] == [{"line": 2, "message": "line is longer than 1000 bytes"}]
    assert Prompt.objects.count() == 0


@pytest.mark.django_db
def test_file_over_the_size_limit(admin, project, settings):
    settings.PROMPT_IMPORT_MAX_FILE_BYTES = 2000
    content = _lines(*[{"prompt": f"prompt number {i}"} for i in range(200)])
    response = _post(admin, project, content)
    assert response.status_code == 413
    assert "limit" in response.json()["message"]
    assert Prompt.objects.count() == 0


@pytest.mark.django_db
def test_empty_file(admin, project):
    assert _post(admin, project, b"").status_code == 400
    assert _post(admin, project, b"\n\n").status_code == 400


@pytest.mark.django_db
def test_unicode_round_trips_exactly(admin, project):
    texts = [
        "emoji 👩🏽‍💻🇫🇷 and astral 𝔘𝔫𝔦",
        "RTL \u202eevil\u202c and \u200fmark\u200e",
        "zero\u200bwidth\u200djoiner\ufeff",
        "combining e\u0301 vs \u00e9, a\u030a",
        "quotes \" ' and backslash \\ and </script>",
    ]
    content = _lines(*[{"id": str(i), "prompt": t, "candidates": [{"content": t}]} for i, t in enumerate(texts)])
    assert _post(admin, project, content).status_code == 201
    for i, t in enumerate(texts):
        prompt = Prompt.objects.get(project=project, external_id=str(i))
        assert prompt.messages[0]["content"] == t
        assert prompt.candidates.get().content == t
        api_text = admin.get(f"/api/v1/projects/{project.pk}/prompts/{prompt.pk}").json()["messages"][0]["content"]
        assert api_text == t


@pytest.mark.django_db
def test_csv_import(admin, project):
    content = b'prompt,id,tags,track,metadata\n"Hello, world",c1,"a, b",harmless,"{""k"": 1}"\n"multi\nline",c2,,,\n'
    response = _post(admin, project, content, name="p.csv")
    assert response.status_code == 201, response.content
    p1 = Prompt.objects.get(external_id="c1")
    assert p1.text == "Hello, world" and p1.tags == ["a", "b"] and p1.metadata == {"k": 1}
    assert Prompt.objects.get(external_id="c2").text == "multi\nline"


@pytest.mark.django_db
def test_csv_errors_have_line_numbers(admin, project):
    content = b"prompt,id\nok,1\n,2\n"
    body = _post(admin, project, content, name="p.csv").json()
    assert body["extra"]["errors"][0]["line"] == 3
    assert _post(admin, project, b"text\nhello\n", name="p.csv").json()["extra"]["errors"][0]["line"] == 1


@pytest.mark.django_db
def test_raw_body_import(admin, project):
    response = admin.generic(
        "POST",
        f"/api/v1/projects/{project.pk}/prompts/import",
        _lines(GOOD),
        content_type="application/jsonl",
    )
    assert response.status_code == 201, response.content
    assert Prompt.objects.count() == 1


@pytest.mark.django_db
def test_large_file_goes_to_the_background(admin, project, settings, django_capture_on_commit_callbacks, monkeypatch):
    settings.PROMPT_IMPORT_SYNC_MAX_LINES = 5
    sent = []
    from labelhub.prompts import tasks

    monkeypatch.setattr(tasks.prompt_import_task, "apply_async", lambda **kw: sent.append(kw))
    content = _lines(*[{"prompt": f"p{i}"} for i in range(20)])
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(admin, project, content)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["total_lines"] == 20
    assert sent == [{"kwargs": {"import_id": body["id"]}, "queue": "imports"}]
    assert Prompt.objects.count() == 0
    tasks.prompt_import_task.run(import_id=body["id"])
    tasks.prompt_import_task.run(import_id=body["id"])  # a redelivered task is a no-op
    status = admin.get(body["status_url"]).json()
    assert status["status"] == "done" and status["created"] == 20 and status["percent"] == 100
    assert Prompt.objects.count() == 20


@pytest.mark.django_db
def test_broker_down_marks_import_failed_not_stuck(
    admin, project, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.PROMPT_IMPORT_SYNC_MAX_LINES = 1
    from labelhub.prompts import tasks

    def boom(**kwargs):
        raise ConnectionRefusedError("redis down")

    monkeypatch.setattr(tasks.prompt_import_task, "apply_async", boom)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(admin, project, _lines(GOOD, {"prompt": "b"}))
    assert response.status_code == 202
    imp = PromptImport.objects.get(pk=response.json()["id"])
    assert imp.status == ImportStatus.FAILED and "unreachable" in imp.message


@pytest.mark.django_db
def test_track_must_be_enabled_in_project(api, make_project, staff):
    project = make_project("Only helpful", tracks=["helpful"])
    body = _post(api(staff), project, _lines({"prompt": "x", "track": "red-team"})).json()
    assert "not enabled" in body["extra"]["errors"][0]["message"]


@pytest.mark.django_db
def test_prompt_list_filters(admin, project):
    _post(
        admin,
        project,
        _lines(
            {"prompt": "apple pie", "tags": ["food"], "track": "helpful"},
            {"prompt": "apple phone", "tags": ["tech"], "track": "harmless"},
            {"prompt": "banana", "tags": ["food"], "track": "harmless"},
        ),
    )
    url = f"/api/v1/projects/{project.pk}/prompts"

    def texts(query):
        return sorted(p["text"] for p in admin.get(url + query).json()["results"])

    assert texts("") == ["apple phone", "apple pie", "banana"]
    assert texts("?tag=food") == ["apple pie", "banana"]
    assert texts("?track=harmless&q=apple") == ["apple phone"]
    assert admin.get(url + "?track=evil").status_code == 400
