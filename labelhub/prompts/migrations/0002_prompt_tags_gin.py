"""Tag filters on PostgreSQL: a GIN index on prompts_prompt.tags (jsonb_path_ops serves `@>`).
SQLite filters with json_each instead and needs no index at demo sizes."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS prompt_tags_gin ON prompts_prompt USING gin (tags jsonb_path_ops)", params=None
        )


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS prompt_tags_gin", params=None)


class Migration(migrations.Migration):
    dependencies = [("prompts", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
