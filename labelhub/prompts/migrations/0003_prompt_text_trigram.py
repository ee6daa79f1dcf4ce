"""Prompt search on PostgreSQL: a trigram GIN index on UPPER(text), the expression Django's
`icontains` compares (`UPPER(text) LIKE UPPER('%term%')`), so a search reads the rows that match
instead of scanning the project's prompts (1M prompts, a rare word: a 0.5-1 s scan). PostgreSQL only;
SQLite (`make run`) keeps the scan.

pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it. Not Django's
TrigramExtension operation: unapplied on SQLite it queries pg_extension and fails, and on PostgreSQL
it would drop an extension something else may use. Unapplying drops the index only."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS prompt_text_trgm ON prompts_prompt USING gin (UPPER(text) gin_trgm_ops)",
            params=None,
        )
        # Finer statistics of UPPER(text) (1,000 histogram bounds instead of 100) let the planner
        # tell a common word from a rare one: a word in 1 % of a 1M-prompt project is then read in id
        # order until a page is full (29 ms) rather than all 10,000 matches through the index and
        # sorted (240 ms); a rare word still takes the index (2 ms).
        schema_editor.execute("ALTER INDEX prompt_text_trgm ALTER COLUMN 1 SET STATISTICS 1000", params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS prompt_text_trgm", params=None)


class Migration(migrations.Migration):
    dependencies = [("prompts", "0002_prompt_tags_gin")]
    operations = [migrations.RunPython(forward, reverse)]
