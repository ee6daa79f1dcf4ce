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


def test_publishing_unchanged_text_is_a_conflict_shown_in_the_form(site, client_for, staff):
    from tests.web.conftest import GUIDELINES_V2

    project = site["project"]
    url = reverse("projects:guideline-edit", args=[project.pk])
    response = client_for(staff).post(url, {"action": "publish", "content": GUIDELINES_V2, "change_note": "Again"})
    assert response.status_code == 409
    assert "Nothing changed since version 2" in response.content.decode()
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
