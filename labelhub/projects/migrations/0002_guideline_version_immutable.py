"""Published guideline versions are immutable in the database itself: any UPDATE raises.

Labels record the version they were made under, so a version that changed after the fact would
silently change what those labels mean. Deletion is left to cascades (a deleted project) and is
refused in the admin and the services.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION labelhub_guideline_version_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'published guideline versions are immutable (project %, version %)', OLD.project_id, OLD.number
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER guideline_version_immutable BEFORE UPDATE ON projects_guidelineversion
    FOR EACH ROW EXECUTE FUNCTION labelhub_guideline_version_immutable();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS guideline_version_immutable ON projects_guidelineversion;
DROP FUNCTION IF EXISTS labelhub_guideline_version_immutable();
"""
SQLITE_FORWARD = """
CREATE TRIGGER guideline_version_immutable BEFORE UPDATE ON projects_guidelineversion
BEGIN
    SELECT RAISE(ABORT, 'published guideline versions are immutable');
END;
"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS guideline_version_immutable;"


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REVERSE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("projects", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
