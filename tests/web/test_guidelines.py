import pytest
from django.urls import reverse

from labelhub.projects import selectors, services
from labelhub.projects.models import GuidelineVersion, Role

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_guidelines_page_renders_markdown_and_history(site, client_for):
    project = site["project"]
    html = (
        client_for(site["members"][Role.LABELER])
        .get(reverse("projects:guidelines", args=[project.pk]))
        .content.decode()
    )
    assert "<h2>Safety</h2>" in html  # v2, rendered
    assert "Add safety" in html and "First version" in html  # history notes
    assert reverse("projects:guideline-version", args=[project.pk, 1]) in html
    assert f"{reverse('projects:guideline-diff', args=[project.pk])}?from=1&amp;to=2" in html
    assert "Acknowledge version 2" in html


def test_guideline_version_page(site, client_for):
    project = site["project"]
    html = (
        client_for(site["members"][Role.ENGINEER])
        .get(reverse("projects:guideline-version", args=[project.pk, 1]))
        .content.decode()
    )
    assert "This is an old version" in html
    assert "<h2>Safety</h2>" not in html
    assert "<h2>Tone</h2>" in html


@pytest.mark.parametrize("mode", ["unified", "side"])
def test_diff_shows_added_and_removed_lines(site, client_for, mode):
    project = site["project"]
    url = reverse("projects:guideline-diff", args=[project.pk])
    response = client_for(site["members"][Role.LABELER]).get(url, {"from": 1, "to": 2, "mode": mode})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Be helpful and truthful." in html
    assert "diff-add" in html and "diff-del" in html
    assert "## Safety" in html  # raw Markdown lines, not rendered


def test_diff_page_renders_the_changed_blocks_and_keeps_the_raw_diff(site, client_for):
    """mode=rendered: the changes as readers see them (the gate's view); unified stays the default."""
    project = site["project"]
    url = reverse("projects:guideline-diff", args=[project.pk])
    html = client_for(site["members"][Role.ADMIN]).get(url, {"from": 1, "to": 2, "mode": "rendered"}).content.decode()
    assert '<del class="bd-block bd-del"><span class="visually-hidden">Removed: </span>' in html
    assert "<p>Be helpful.</p>" in html and "<p>Be helpful and truthful.</p>" in html
    assert "<h2>Safety</h2>" in html and "## Safety" not in html and "@@" not in html
    assert '<input type="radio" name="mode" value="rendered"' in html
    assert "@@" in client_for(site["members"][Role.ADMIN]).get(url, {"from": 1, "to": 2}).content.decode()


def test_diff_defaults_to_current_against_previous(site, client_for):
    url = reverse("projects:guideline-diff", args=[site["project"].pk])
    html = client_for(site["members"][Role.LABELER]).get(url).content.decode()
    assert '<option value="1" selected>' in html
    assert '<option value="2" selected>' in html


def test_diff_escapes_html_in_guidelines(site, client_for, staff, publish):
    project = site["project"]
    publish(
        project,
        staff,
        "# Evil\n\n<script>alert('x')</script>\n<img src=x onerror=alert(1)>\n",
        note="<b>note</b>",
    )
    url = reverse("projects:guideline-diff", args=[project.pk])
    for mode in ("unified", "side"):
        html = client_for(staff).get(url, {"from": 2, "to": 3, "mode": mode}).content.decode()
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
        assert "<img src=x" not in html
        assert "<b>note</b>" not in html
    # The Markdown rendering of the same text drops the raw HTML too.
    html = client_for(staff).get(reverse("projects:guidelines", args=[project.pk])).content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html


def test_diff_of_unknown_version_is_404(site, client_for, staff):
    url = reverse("projects:guideline-diff", args=[site["project"].pk])
    assert client_for(staff).get(url, {"from": 1, "to": 9}).status_code == 404


def test_diff_without_versions(project, client_for, staff):
    response = client_for(staff).get(reverse("projects:guideline-diff", args=[project.pk]))
    assert response.status_code == 200
    assert b"nothing to compare" in response.content


def test_edit_page_shows_the_draft(site, client_for, staff):
    project = site["project"]
    services.guideline_draft_save(project=project, user=staff, content="Draft <em>text</em>")
    html = client_for(staff).get(reverse("projects:guideline-edit", args=[project.pk])).content.decode()
    assert "Draft &lt;em&gt;text&lt;/em&gt;</textarea>" in html
    assert "Publish as version 3" in html
    assert 'hx-post="' in html


def test_save_draft(site, client_for, staff):
    project = site["project"]
    url = reverse("projects:guideline-edit", args=[project.pk])
    response = client_for(staff).post(url, {"action": "save", "content": "New draft", "change_note": ""})
    assert response.status_code == 302
    assert services.guideline_draft_get(project=project).content == "New draft"
    assert GuidelineVersion.objects.filter(project=project).count() == 2


def test_publish_via_the_form_creates_version_n_plus_1(site, client_for, staff):
    project = site["project"]
    url = reverse("projects:guideline-edit", args=[project.pk])
    response = client_for(staff).post(
        url, {"action": "publish", "content": "# V3\n\nNew rules.\n", "change_note": "Rewrite"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:guidelines", args=[project.pk])
    current = selectors.guideline_version_current(project=project)
    assert (current.number, current.change_note, current.published_by) == (3, "Rewrite", staff)
    assert current.content == "# V3\n\nNew rules.\n"


def test_publish_needs_a_change_note(site, client_for, staff):
    project = site["project"]
    url = reverse("projects:guideline-edit", args=[project.pk])
    response = client_for(staff).post(url, {"action": "publish", "content": "Changed", "change_note": " "})
    assert response.status_code == 400
    assert "change note is required" in response.content.decode()
    assert selectors.guideline_version_current(project=project).number == 2


def test_publishing_unchanged_guidelines_is_a_form_error(site, client_for, staff):
    from tests.web.conftest import GUIDELINES_V2

    project = site["project"]
    url = reverse("projects:guideline-edit", args=[project.pk])
    response = client_for(staff).post(url, {"action": "publish", "content": GUIDELINES_V2, "change_note": "Again"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing changed since version 2: the text and the labeling schema are the same" in html
    assert "Identical to version 2." in html  # on the text field
    assert selectors.guideline_version_current(project=project).number == 2
    assert b"<textarea" in response.content  # the form is still there, with the text


def test_htmx_preview_returns_the_partial_only(site, client_for, staff):
    url = reverse("projects:guideline-edit", args=[site["project"].pk])
    data = {"action": "preview", "content": "# Hello\n\n<script>x()</script> *there*", "change_note": ""}
    response = client_for(staff).post(url, data, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="guideline-preview"' in html
    assert "<h1>Hello</h1>" in html and "<em>there</em>" in html
    assert "<script>" not in html
    # Preview saves nothing.
    assert services.guideline_draft_get(project=site["project"]).content != data["content"]


def test_preview_without_htmx_returns_the_whole_page(site, client_for, staff):
    url = reverse("projects:guideline-edit", args=[site["project"].pk])
    response = client_for(staff).post(url, {"action": "preview", "content": "# Hello", "change_note": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "<h1>Hello</h1>" in html
    assert "<textarea" in html


# The labeling schema panel -----------------------------------------------------------------------

import json  # noqa: E402

from labelhub.projects.rubric import PRESETS, schema_of  # noqa: E402


def _edit(client, project, action, schema, **extra):
    url = reverse("projects:guideline-edit", args=[project.pk])
    text = schema if isinstance(schema, str) else json.dumps(schema)
    data = {"action": action, "content": "# Rules\n", "change_note": "", "schema": text, **extra}
    return client.post(url, data, headers=extra.pop("headers", None) or {})


def _helpsteer_with(**changes) -> dict:
    schema = PRESETS["helpsteer"].as_dict()
    schema["questions"][2] |= changes
    return schema


def test_edit_page_shows_the_draft_schema_as_json(site, client_for, staff):
    html = client_for(staff).get(reverse("projects:guideline-edit", args=[site["project"].pk])).content.decode()
    assert 'name="schema"' in html
    assert "&quot;name&quot;: &quot;truthful&quot;" in html  # the HHH draft, escaped in the textarea
    assert 'value="schema-preview"' in html and 'value="reset"' in html
    for name in PRESETS:
        assert f'<option value="{name}"' in html


def test_schema_preview_renders_the_questions_as_labelers_see_them(site, client_for, staff):
    project = site["project"]
    schema = _helpsteer_with(hint="Count the <b>facts</b>", point_labels={"0": "wrong", "4": "all right"})
    url = reverse("projects:guideline-edit", args=[project.pk])
    body = {"action": "schema-preview", "content": "x", "change_note": "", "schema": json.dumps(schema)}
    response = client_for(staff).post(url, body, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="schema-preview"' in html
    for q in PRESETS["helpsteer"].questions:
        assert f"<code>{q.name}</code>" in html and f'<kbd title="Keyboard shortcut">{q.key}</kbd>' in html
    assert "Scale 0–4" in html and "0 wrong" in html and "4 all right" in html
    assert "Hint: Count the &lt;b&gt;facts&lt;/b&gt;" in html
    assert "No ranking" in html
    assert schema_of(services.guideline_draft_get(project=project).schema) == PRESETS["hhh"]  # nothing saved


def test_schema_preview_shows_the_field_errors(site, client_for, staff):
    url = reverse("projects:guideline-edit", args=[site["project"].pk])
    bad = _helpsteer_with(min=4, max=2)
    body = {"action": "schema-preview", "content": "x", "change_note": "", "schema": json.dumps(bad)}
    html = client_for(staff).post(url, body, headers=HTMX).content.decode()
    assert "<code>schema.questions[2].max</code>" in html and "must be greater than min" in html
    body["schema"] = "{not json"
    html = client_for(staff).post(url, body, headers=HTMX).content.decode()
    assert "Not valid JSON" in html


@pytest.mark.parametrize("action", ["save", "publish"])
def test_invalid_schema_rerenders_the_form_and_saves_nothing(site, client_for, staff, action):
    project = site["project"]
    before = services.guideline_draft_get(project=project)
    bad = _helpsteer_with(key="s")  # a key the workbench uses
    response = _edit(client_for(staff), project, action, bad, change_note="Try")
    html = response.content.decode()
    assert response.status_code == 400
    assert "<code>schema.questions[2].key</code>" in html and "taken by the workbench" in html
    assert "<textarea" in html and "&quot;key&quot;: &quot;s&quot;" in html  # what was typed stays
    after = services.guideline_draft_get(project=project)
    assert (after.content, after.schema) == (before.content, before.schema)
    assert selectors.guideline_version_current(project=project).number == 2


def test_save_writes_text_and_schema_together(site, client_for, staff):
    project = site["project"]
    response = _edit(client_for(staff), project, "save", PRESETS["ultrafeedback"].as_dict())
    assert response.status_code == 302
    draft = services.guideline_draft_get(project=project)
    assert draft.content == "# Rules\n" and schema_of(draft.schema) == PRESETS["ultrafeedback"]
    # The published version (what labels follow) is unchanged until publishing.
    assert selectors.project_schema(project=project) == PRESETS["hhh"]


def test_reset_to_preset_fills_the_editor_and_saves_nothing(site, client_for, staff):
    project = site["project"]
    response = _edit(client_for(staff), project, "reset", "{broken", preset="minimal")
    html = response.content.decode()
    assert response.status_code == 200
    shown = html.split('name="schema"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    assert schema_of(json.loads(shown.replace("&quot;", '"'))) == PRESETS["minimal"]
    assert "save or publish to keep it" in html
    assert schema_of(services.guideline_draft_get(project=project).schema) == PRESETS["hhh"]


def test_publish_freezes_the_schema_and_the_version_page_lists_the_changes(site, client_for, staff):
    project = site["project"]
    schema = PRESETS["hhh"].as_dict()
    schema["questions"][0]["max"] = 5
    schema["questions"][0]["point_labels"] = {"1": "useless", "5": "ideal"}
    schema["tracks"].append({"name": "coding", "label": "Coding", "description": ""})
    response = _edit(client_for(staff), project, "publish", schema, change_note="Shorter helpful scale")
    assert response.status_code == 302
    v3 = selectors.guideline_version_current(project=project)
    assert v3.number == 3 and schema_of(v3.schema).question("helpful").max == 5
    assert schema_of(services.guideline_draft_get(project=project).schema) == schema_of(v3.schema)
    # Editing the draft afterwards leaves version 3 as published.
    services.guideline_draft_save(project=project, user=staff, schema=PRESETS["minimal"].as_dict())
    assert schema_of(GuidelineVersion.objects.get(pk=v3.pk).schema).question("helpful").max == 5
    html = (
        client_for(site["members"][Role.LABELER])
        .get(reverse("projects:guideline-version", args=[project.pk, 3]))
        .content.decode()
    )
    assert "since v2" in html
    assert "Question helpful changed: max 7 → 5; point labels 1: useless, 7: ideal → 1: useless, 5: ideal." in html
    assert "Track added: coding (Coding)." in html
    assert "Labeling schema of v3" in html and "Scale 1–5" in html


def test_diff_page_lists_the_schema_changes(site, client_for, staff):
    project = site["project"]
    services.guideline_draft_save(project=project, user=staff, schema=PRESETS["helpsteer"].as_dict())
    services.guideline_version_publish(project=project, user=staff, change_note="HelpSteer", content="# v3\n")
    url = reverse("projects:guideline-diff", args=[project.pk])
    html = client_for(site["members"][Role.LABELER]).get(url, {"from": 2, "to": 3}).content.decode()
    assert "Labeling schema changes" in html and "since v2" in html
    assert "Question removed: truthful." in html
    assert "Question added: verbosity (scale, “Verbosity”)." in html
    assert "Ranking changed: enabled yes → no;" in html
    html = client_for(site["members"][Role.LABELER]).get(url, {"from": 1, "to": 2}).content.decode()
    assert "The labeling schema did not change." in html
