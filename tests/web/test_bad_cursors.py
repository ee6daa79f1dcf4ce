"""Keyset pages on the web (`?before=` / `?after=`) read their cursor through core.ids: anything but
an ASCII id is "No such page." (404), never a 500 and never a page of something else ("١٢" was 12)."""

import pytest
from django.urls import reverse

from labelhub.projects.models import Role

pytestmark = pytest.mark.django_db

BAD = ["abc", "1e5", "-1", "²", "①", "١٢", " 7", "9" * 40, "9" * 5000]


@pytest.mark.parametrize("value", BAD)
def test_a_bad_web_cursor_is_a_404(site, client_for, value):
    project = site["project"]
    client = client_for(site["members"][Role.ADMIN])
    for name in ("projects:prompts:list", "projects:exports:list", "projects:quality:gold"):
        response = client.get(reverse(name, args=[project.pk]), {"before": value})
        assert response.status_code == 404, (name, response.status_code)


def test_a_good_web_cursor_still_pages(site, client_for):
    project = site["project"]
    client = client_for(site["members"][Role.ADMIN])
    newest = project.prompts.order_by("-id").first()
    response = client.get(reverse("projects:prompts:list", args=[project.pk]), {"before": str(newest.pk)})
    assert response.status_code == 200
