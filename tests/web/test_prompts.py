import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from labelhub.projects.models import Role
from labelhub.prompts import services as prompt_services
from labelhub.prompts.models import ImportStatus, Prompt, PromptImport
from tests.web.conftest import jsonl, prompt_records

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _list_url(project):
    return reverse("projects:prompts:list", args=[project.pk])


def test_prompt_list_full_page_and_htmx_partial(site, client_for):
    client = client_for(site["members"][Role.LABELER])
    url = _list_url(site["project"])
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "<html" in html and 'id="prompt-table"' in html and 'role="search"' in html
    assert "Question number 0?" in html
    assert "HX-Request" in page["Vary"]
    partial = client.get(url, headers=HTMX).content.decode()
    assert "<html" not in partial
    assert 'role="search"' not in partial
    assert partial.lstrip().startswith('<section id="prompt-table"')
    assert "Question number 0?" in partial


def test_prompt_rows_show_track_tags_text_and_candidate_count(site, client_for):
    html = client_for(site["members"][Role.LABELER]).get(_list_url(site["project"])).content.decode()
    assert "p0" in html and "Helpful" in html
    assert '<span class="tag">math</span>' in html
    assert '<td class="num">2</td>' in html


def test_filters(site, client_for, import_prompts):
    project = site["project"]
    import_prompts(project, [{"id": "rt", "prompt": "Red team me", "track": "red-team", "tags": ["attack"]}])
    client = client_for(site["members"][Role.LABELER])
    url = _list_url(project)
    html = client.get(url, {"track": "red-team"}, headers=HTMX).content.decode()
    assert "Red team me" in html and "Question number" not in html
    html = client.get(url, {"tag": "math"}, headers=HTMX).content.decode()
    assert "Question number 1?" in html and "Question number 0?" not in html
    html = client.get(url, {"q": "number 2"}, headers=HTMX).content.decode()
    assert "Question number 2?" in html and "Question number 1?" not in html
    html = client.get(url, {"q": "nothing like this"}, headers=HTMX).content.decode()
    assert "No prompts match" in html
    # An unknown track is ignored rather than an error.
    assert client.get(url, {"track": "bogus"}).status_code == 200


def test_keyset_pagination(site, client_for, import_prompts):
    project = site["project"]
    import_prompts(project, prompt_records(60, start=100))  # 63 prompts in all
    client = client_for(site["members"][Role.LABELER])
    page1 = client.get(_list_url(project))
    prompts1 = page1.context["prompts"]
    assert len(prompts1) == 50
    before = page1.context["next_before"]
    assert before == prompts1[-1].pk
    assert f"?before={before}" in page1.content.decode()
    page2 = client.get(_list_url(project), {"before": before})
    prompts2 = page2.context["prompts"]
    assert len(prompts2) == 13
    assert page2.context["next_before"] is None
    assert {p.pk for p in prompts1}.isdisjoint({p.pk for p in prompts2})
    assert "Older" not in page2.content.decode()
    assert "Newest" in page2.content.decode()
    assert client.get(_list_url(project), {"before": "x"}).status_code == 404


def test_prompt_list_query_count_is_constant(site, client_for, import_prompts, django_assert_num_queries):
    """5 prompts or a full page of 50 (out of 60): the same number of queries, no COUNT(*)."""
    project = site["project"]
    client = client_for(site["members"][Role.LABELER])
    import_prompts(project, prompt_records(2, start=10))  # 5 prompts
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(_list_url(project)).context["prompts"]) == 5
    import_prompts(project, prompt_records(55, start=20))  # 60 prompts
    with django_assert_num_queries(len(few.captured_queries)) as many:
        assert len(client.get(_list_url(project)).context["prompts"]) == 50
    assert not any("COUNT(*)" in q["sql"].upper() for q in many.captured_queries)


def test_prompt_text_is_escaped_in_the_list_and_markdown_sanitised_on_detail(site, client_for, import_prompts):
    project = site["project"]
    evil = "<script>alert(1)</script> **bold** <img src=x onerror=alert(2)>"
    imp = import_prompts(
        project,
        [
            {
                "id": "evil",
                "messages": [
                    {"role": "system", "content": "Be <i>brief</i>."},
                    {"role": "user", "content": evil},
                ],
                "metadata": {"note": "</pre><script>bad()</script>", "n": 1},
                "candidates": [{"content": "# Title\n<script>c()</script>", "model": "<m>"}],
            }
        ],
    )
    assert imp.status == ImportStatus.DONE, imp.message
    prompt = Prompt.objects.get(project=project, external_id="evil")
    client = client_for(site["members"][Role.LABELER])
    html = client.get(_list_url(project)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    html = client.get(reverse("projects:prompts:detail", args=[project.pk, prompt.pk])).content.decode()
    assert "<strong>bold</strong>" in html
    assert "<script>alert" not in html and "<img" not in html
    assert "<script>bad()" not in html and "&lt;/pre&gt;&lt;script&gt;bad()" in html
    assert "<script>c()" not in html and "<h1>Title</h1>" in html
    assert "message-system" in html and "message-user" in html
    assert "&lt;m&gt;" not in html  # a labeler is not told which model wrote a candidate
    assert "&quot;n&quot;: 1" in html  # pretty-printed JSON, escaped
    engineer = client_for(site["members"][Role.ENGINEER])
    html = engineer.get(reverse("projects:prompts:detail", args=[project.pk, prompt.pk])).content.decode()
    assert "&lt;m&gt;" in html and "<m>" not in html  # the model name, escaped


def _upload(client, project, name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("projects:prompts:import", args=[project.pk])
    return client.post(url, {"file": SimpleUploadedFile(name, data, content_type="application/octet-stream")})


def test_import_page_lists_recent_imports(site, client_for, staff):
    html = client_for(staff).get(reverse("projects:prompts:import", args=[site["project"].pk])).content.decode()
    assert 'accept=".jsonl,.csv"' in html
    assert 'enctype="multipart/form-data"' in html
    assert reverse("projects:prompts:import-detail", args=[site["project"].pk, site["import"].pk]) in html


def test_import_through_the_page_creates_prompts(site, client_for, staff):
    project = site["project"]
    client = client_for(staff)
    before = Prompt.objects.filter(project=project).count()
    response = _upload(client, project, "new.jsonl", jsonl(prompt_records(4, start=500)))
    imp = PromptImport.objects.latest("id")
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:prompts:import-detail", args=[project.pk, imp.pk])
    assert imp.status == ImportStatus.DONE
    assert Prompt.objects.filter(project=project).count() == before + 4
    html = client.get(response["Location"]).content.decode()
    assert "hx-trigger" not in html  # finished: no polling
    assert 'value="100"' in html
    assert "4 prompt(s) imported" in html


def test_import_csv_through_the_page(site, client_for, staff):
    response = _upload(client_for(staff), site["project"], "p.csv", b"prompt,id,tags\nHello there,c1,a\n")
    assert response.status_code == 302
    assert Prompt.objects.filter(project=site["project"], external_id="c1").exists()


def test_bad_file_shows_line_errors_and_creates_nothing(site, client_for, staff):
    project = site["project"]
    client = client_for(staff)
    before = Prompt.objects.count()
    data = b'{"prompt": "fine", "id": "ok1"}\n{"prompt": 5}\nnot json <b>x</b>\n'
    response = _upload(client, project, "bad.jsonl", data)
    assert response.status_code == 302
    assert Prompt.objects.count() == before
    html = client.get(response["Location"]).content.decode()
    assert "Bad lines" in html
    assert '<td class="num mono">2</td>' in html and '<td class="num mono">3</td>' in html
    assert "nothing was imported" in html
    assert "<b>x</b>" not in html
    assert "hx-trigger" not in html


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"hello\n", "Upload a .jsonl or .csv file."),
        ("empty.jsonl", b"", "The submitted file is empty."),
    ],
)
def test_import_form_errors(site, client_for, staff, name, data, message):
    response = _upload(client_for(staff), site["project"], name, data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_import_too_large_is_a_form_error(site, client_for, staff, settings):
    settings.PROMPT_IMPORT_MAX_FILE_BYTES = 10
    response = _upload(client_for(staff), site["project"], "big.jsonl", jsonl(prompt_records(3)))
    assert response.status_code == 400
    assert "larger than the limit" in response.content.decode()


def test_running_import_polls_and_the_partial_stops_when_done(site, client_for, staff):
    project = site["project"]
    # Spooled where uploads go (an import reads no file elsewhere: tests/security/test_file_serving.py).
    data = jsonl(prompt_records(2, start=900))
    path, size, lines = prompt_services.spool_upload(chunks=iter([data]), max_bytes=10**6)
    imp = prompt_services.prompt_import_create(
        project=project, user=staff, path=path, filename="queued.jsonl", file_format="jsonl", size=size, lines=lines
    )
    client = client_for(staff)
    url = reverse("projects:prompts:import-detail", args=[project.pk, imp.pk])
    html = client.get(url).content.decode()
    assert "<html" in html
    assert 'hx-trigger="every 1s"' in html and f'hx-get="{url}"' in html
    assert "<progress" in html
    partial = client.get(url, headers=HTMX).content.decode()
    assert "<html" not in partial
    assert partial.lstrip().startswith('<section id="import-status"')
    assert 'hx-trigger="every 1s"' in partial
    prompt_services.prompt_import_run(import_id=imp.pk)
    partial = client.get(url, headers=HTMX).content.decode()
    assert "hx-trigger" not in partial
    assert "Done" in partial


def test_track_badges_show_the_schema_label_else_the_raw_track(site, client_for, staff):
    """Tracks are the schema's: a new version relabels a track; a prompt whose track the current schema
    no longer has shows its raw name (on the list, the filter and the prompt's page)."""
    from labelhub.projects import services as project_services
    from labelhub.projects.rubric_presets import hhh_schema

    project = site["project"]
    schema = hhh_schema(tracks=["helpful", "harmless"])
    schema["tracks"][0]["label"] = "Useful <everyday>"
    project_services.guideline_draft_save(project=project, user=staff, schema=schema)
    project_services.guideline_version_publish(project=project, user=staff, change_note="Relabel", content="# v3")
    Prompt.objects.filter(project=project, external_id="p1").update(track="red-team")
    client = client_for(site["members"][Role.LABELER])
    html = client.get(_list_url(project)).content.decode()
    assert '<span class="badge badge-track">Useful &lt;everyday&gt;</span>' in html
    assert '<span class="badge badge-track">red-team</span>' in html
    assert '<option value="helpful">Useful &lt;everyday&gt;</option>' in html
    assert 'value="red-team"' not in html.split('name="track"', 1)[1].split("</select>", 1)[0]
    prompt = Prompt.objects.get(project=project, external_id="p0")
    page = client.get(reverse("projects:prompts:detail", args=[project.pk, prompt.pk])).content.decode()
    assert '<span class="badge badge-track">Useful &lt;everyday&gt;</span>' in page
