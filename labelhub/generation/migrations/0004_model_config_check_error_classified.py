"""last_check_error becomes a classified error ({"kind", "status"?, "reason"?}). The raw text stored
so far could hold up to 300 bytes of whatever the target server replied: it is cleared, not kept.
Job errors lose the reply they quoted too (only failed or retried jobs' rows match)."""

import re

from django.db import migrations, models

# What the client appended the server's reply to before errors were classified.
_QUOTED_REPLY = re.compile(r"(answered HTTP \d+|refused the request: HTTP \d+|answer is not JSON): .*", re.S)
_QUOTED_REPLY_SQL = r"(answered HTTP [0-9]+|refused the request: HTTP [0-9]+|answer is not JSON): "


def clear_raw_errors(apps, schema_editor):
    ModelConfig = apps.get_model("generation", "ModelConfig")
    ModelConfig.objects.exclude(last_check_error="").update(last_check_error='{"kind": "unclassified"}')
    ModelConfig.objects.filter(last_check_error="").update(last_check_error="{}")


def strip_job_replies(apps, schema_editor):
    GenerationJob = apps.get_model("generation", "GenerationJob")
    rows = GenerationJob.objects.filter(error__regex=_QUOTED_REPLY_SQL).values_list("pk", "error")
    for pk, error in rows.iterator(chunk_size=2000):
        GenerationJob.objects.filter(pk=pk).update(error=_QUOTED_REPLY.sub(r"\1 (reply in the server log only)", error))


def empty_text(apps, schema_editor):
    ModelConfig = apps.get_model("generation", "ModelConfig")
    ModelConfig.objects.update(last_check_error="")


class Migration(migrations.Migration):
    dependencies = [("generation", "0003_api_key_encrypted_at_rest")]

    operations = [
        migrations.RunPython(clear_raw_errors, empty_text),
        migrations.RunPython(strip_job_replies, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="modelconfig",
            name="last_check_error",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
