"""Fixtures for the API tests (see tests/conftest.py for staff, project, members, api)."""

import pytest

from labelhub.labeling import services as labeling_services
from labelhub.projects import services as project_services
from labelhub.projects.models import Membership
from labelhub.prompts.models import Candidate, Prompt


@pytest.fixture
def ready(project, staff, members):
    """Guidelines acknowledged by every member, six prompts with a candidate each, demonstration items."""
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="# G")
    for user in [*members.values(), staff]:
        if Membership.objects.filter(project=project, user=user).exists():
            project_services.guideline_acknowledge(project=project, user=user, number=version.number)
    project.comparisons_enabled = False
    project.save()
    for i in range(6):
        prompt = Prompt.objects.create(
            project=project, messages=[{"role": "user", "content": f"q{i}"}], text=f"q{i}", content_hash=f"{i:064d}"
        )
        Candidate.objects.create(prompt=prompt, content=f"a{i}", source="imported")
    labeling_services.work_items_sync(project=project)
    return project
