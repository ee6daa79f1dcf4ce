import io

import pytest
from django.core.management import call_command

from labelhub.accounts.models import User
from labelhub.labeling.models import Label
from labelhub.projects.models import Project
from labelhub.quality.models import ProjectStats


@pytest.mark.django_db
def test_seed_demo_gives_every_export_rows(api, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # idempotent: no second set of labels
    project = Project.objects.get(name__startswith="Demo")
    labels = Label.objects.filter(project=project, work_item__purpose="")  # the evaluation demo's apart
    assert labels.count() == 10 and not Label.objects.filter(project=project, demo=False).exists()
    client = api(User.objects.get(username="engineer"))
    counts = {}
    for kind, query in (
        ("sft", ""),
        ("preferences", "format=trl-preference&include_edits=true"),
        ("kto", ""),
        ("rankings", "metadata=true"),
    ):
        response = client.get(f"/api/v1/projects/{project.pk}/exports/{kind}.jsonl?{query}")
        assert response.status_code == 200
        counts[kind] = b"".join(response.streaming_content).count(b"\n")
    # 4 demonstrations; 3 K=2 items ranked by two labelers (6 pairs) + 1 edit pair; 12 KTO rows; 3 items.
    assert counts == {"sft": 4, "preferences": 7, "kto": 12, "rankings": 3}
    # The quality dashboard has statistics right away.
    stats = ProjectStats.objects.get(project=project)
    assert stats.label_count == 10 and len(stats.data["labelers"]) == 2 and stats.data["leaderboard"]
