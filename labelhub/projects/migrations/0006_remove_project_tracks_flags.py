"""Tracks and flags live in the labeling schema only (issue 14).

Migration 0005 copied every project's tracks and flags into the schema of its draft and of each published
version; this removes the two Project fields. Going back puts them back, filled from the draft's schema
(its track names; the options of its multi question named "flags", else none).
"""

from django.db import migrations


def backward(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    GuidelineDraft = apps.get_model("projects", "GuidelineDraft")
    for draft in GuidelineDraft.objects.only("project_id", "schema"):
        schema = draft.schema or {}
        tracks = [t.get("name") for t in schema.get("tracks") or [] if isinstance(t, dict)]
        flags = next(
            (q.get("options") or [] for q in schema.get("questions") or [] if q.get("name") == "flags"), []
        )
        fields = {"flags": list(flags)}
        if tracks:
            fields["tracks"] = tracks
        Project.objects.filter(pk=draft.project_id).update(**fields)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_labeling_schema"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, backward),
        migrations.RemoveField(model_name="project", name="tracks"),
        migrations.RemoveField(model_name="project", name="flags"),
    ]
