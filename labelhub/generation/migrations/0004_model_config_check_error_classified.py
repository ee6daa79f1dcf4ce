"""last_check_error becomes a classified error ({"kind", "status"?, "reason"?}). The raw text stored
so far could hold up to 300 bytes of whatever the target server replied: it is cleared, not kept."""

from django.db import migrations, models


def clear_raw_errors(apps, schema_editor):
    ModelConfig = apps.get_model("generation", "ModelConfig")
    ModelConfig.objects.exclude(last_check_error="").update(last_check_error='{"kind": "unclassified"}')
    ModelConfig.objects.filter(last_check_error="").update(last_check_error="{}")


def empty_text(apps, schema_editor):
    ModelConfig = apps.get_model("generation", "ModelConfig")
    ModelConfig.objects.update(last_check_error="")


class Migration(migrations.Migration):
    dependencies = [("generation", "0003_api_key_encrypted_at_rest")]

    operations = [
        migrations.RunPython(clear_raw_errors, empty_text),
        migrations.AlterField(
            model_name="modelconfig",
            name="last_check_error",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
