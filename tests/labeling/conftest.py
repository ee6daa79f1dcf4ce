import pytest

from labelhub.labeling import services
from labelhub.projects import services as project_services
from labelhub.prompts.models import Candidate, Prompt


@pytest.fixture
def guidelines(project, staff):
    return project_services.guideline_version_publish(
        project=project, user=staff, change_note="v1", content="# Guidelines\n\nBe helpful."
    )


@pytest.fixture
def acked(project, guidelines):
    """A labeler factory: the user acknowledged the current guidelines."""

    def ack(user):
        project_services.guideline_acknowledge(project=project, user=user, number=guidelines.number)
        return user

    return ack


@pytest.fixture
def make_prompts(project):
    def make(n, *, candidates=0, track="helpful", start=0):
        prompts = []
        for i in range(start, start + n):
            p = Prompt.objects.create(
                project=project,
                messages=[{"role": "user", "content": f"question {i}"}],
                text=f"question {i}",
                content_hash=f"{i:064d}",
                track=track,
            )
            for j in range(candidates):
                Candidate.objects.create(prompt=p, content=f"answer {j} to {i}", source="imported")
            prompts.append(p)
        return prompts

    return make


@pytest.fixture
def sync(project):
    def do():
        project.refresh_from_db()
        return services.work_items_sync(project=project)

    return do
