"""Migration projects/0005: every existing project gets the HHH schema with its own flags and tracks, on
its draft and on its published (immutable) versions, and the immutability trigger survives."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from labelhub.projects.rubric import HHH, Schema

BEFORE = [("projects", "0004_project_quality_settings")]
AFTER = [("projects", "0005_labeling_schema")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_projects_keep_their_flags_and_tracks():
    old = _migrate(BEFORE)
    try:
        Project = old.get_model("projects", "Project")
        Draft = old.get_model("projects", "GuidelineDraft")
        Version = old.get_model("projects", "GuidelineVersion")
        custom = Project.objects.create(name="custom", tracks=["helpful"], flags=["too long", "rude"])
        plain = Project.objects.create(name="plain")
        for project in (custom, plain):
            Draft.objects.create(project=project, content="draft")
            Version.objects.create(project=project, number=1, content="v1", change_note="first")

        new = _migrate(AFTER)
        Version = new.get_model("projects", "GuidelineVersion")
        Draft = new.get_model("projects", "GuidelineDraft")
        plain_schema = Schema.parse(Version.objects.get(project_id=plain.pk).schema)
        assert plain_schema == HHH
        custom_version = Schema.parse(Version.objects.get(project_id=custom.pk).schema)
        assert Schema.parse(Draft.objects.get(project_id=custom.pk).schema) == custom_version
        assert custom_version.track_names == ["helpful"]
        assert custom_version.question("flags").options == ("too long", "rude")
        assert not custom_version.safety_required_on
        assert [q.name for q in custom_version.scales()] == ["helpful", "truthful", "harmless"]
        # Published versions are still immutable once the migration is done.
        with pytest.raises(IntegrityError), transaction.atomic():
            Version.objects.filter(project_id=plain.pk).update(content="changed")
    finally:
        _migrate(_latest())


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
