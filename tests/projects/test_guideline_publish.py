"""Publishing guidelines identical to the current version is refused (it would make everyone
acknowledge again for nothing): a 400 naming the field from the service and the API; changing only
the text or only the labeling schema is a change."""

import pytest

from labelhub.core.exceptions import ApplicationError
from labelhub.projects import selectors, services
from labelhub.projects.models import GuidelineVersion
from labelhub.projects.rubric import PRESETS

pytestmark = pytest.mark.django_db

TEXT = "# Guidelines\n\nBe helpful.\n"


def _publish(project, staff, **kwargs):
    return services.guideline_version_publish(project=project, user=staff, change_note="again", **kwargs)


@pytest.mark.parametrize("same", [TEXT, TEXT.replace("\n", "\r\n"), TEXT + "\n\n", TEXT.rstrip()])
def test_identical_text_and_schema_is_refused_with_a_400(project, staff, publish, same):
    publish(project, staff, TEXT)
    with pytest.raises(ApplicationError) as caught:
        _publish(project, staff, content=same)
    assert caught.value.status_code == 400
    assert "Nothing changed since version 1" in caught.value.message
    assert caught.value.extra["fields"] == {"content": ["Identical to version 1."]}
    assert GuidelineVersion.objects.filter(project=project).count() == 1


def test_changing_only_the_text_or_only_the_schema_publishes(project, staff, publish):
    publish(project, staff, TEXT)
    assert _publish(project, staff, content=TEXT + "\nBe brief.\n").number == 2
    assert _publish(project, staff, content=TEXT + "\nBe brief.\n", schema=PRESETS["minimal"].as_dict()).number == 3
    assert selectors.guideline_version_current(project=project).schema == PRESETS["minimal"].as_dict()


def test_a_schema_compares_by_what_it_means(project, staff, publish):
    """The same schema written differently (a default left out) is no change."""
    version = publish(project, staff, TEXT)
    written = {key: value for key, value in version.schema.items() if key != "rationale"}
    assert written != version.schema
    with pytest.raises(ApplicationError, match="Nothing changed since version 1"):
        _publish(project, staff, content=TEXT, schema=written)


def test_the_api_refuses_an_identical_publish_with_a_400(project, staff, publish, api):
    publish(project, staff, TEXT)
    response = api(staff).post(
        f"/api/v1/projects/{project.pk}/guidelines", {"change_note": "again", "content": TEXT}, format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert "Nothing changed since version 1" in str(body)
    assert "content" in str(body)
    assert GuidelineVersion.objects.filter(project=project).count() == 1
    response = api(staff).post(
        f"/api/v1/projects/{project.pk}/guidelines", {"change_note": "more", "content": TEXT + "More.\n"}, format="json"
    )
    assert response.status_code == 201 and response.json()["number"] == 2
