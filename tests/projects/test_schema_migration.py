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


AT_0005 = [("projects", "0005_labeling_schema")]
AT_0006 = [("projects", "0006_remove_project_tracks_flags")]


def _columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


@pytest.mark.django_db(transaction=True)
def test_0006_removes_tracks_and_flags_and_keeps_every_schema():
    """Tracks and flags live in the schema only: the Project columns go, the schemas 0005 wrote stay;
    going back refills the columns from the draft's schema."""
    from labelhub.projects.rubric_presets import hhh_schema

    old = _migrate(AT_0005)
    try:
        Project = old.get_model("projects", "Project")
        Draft = old.get_model("projects", "GuidelineDraft")
        Version = old.get_model("projects", "GuidelineVersion")
        custom = hhh_schema(flags=["too long", "rude"], tracks=["helpful"])
        project = Project.objects.create(name="custom", tracks=["helpful"], flags=["too long", "rude"])
        Draft.objects.create(project=project, content="draft", schema=custom)
        Version.objects.create(project=project, number=1, content="v1", change_note="first", schema=custom)
        assert {"tracks", "flags"} <= _columns("projects_project")

        new = _migrate(AT_0006)
        assert not {"tracks", "flags"} & _columns("projects_project")
        Project = new.get_model("projects", "Project")
        assert not {"tracks", "flags"} & {f.name for f in Project._meta.get_fields()}
        Version = new.get_model("projects", "GuidelineVersion")
        Draft = new.get_model("projects", "GuidelineDraft")
        assert Version.objects.get(project_id=project.pk).schema == custom
        assert Draft.objects.get(project_id=project.pk).schema == custom

        back = _migrate(AT_0005)
        restored = back.get_model("projects", "Project").objects.get(pk=project.pk)
        assert (restored.tracks, restored.flags) == (["helpful"], ["too long", "rude"])
    finally:
        _migrate(_latest())
