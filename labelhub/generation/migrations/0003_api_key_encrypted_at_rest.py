# Model configs' API keys are encrypted at rest (labelhub/core/crypto.py). Keys stored in plaintext
# before this migration are encrypted here; reading is the same either way.

from django.db import migrations

import labelhub.core.crypto


def encrypt_existing(apps, schema_editor):
    ModelConfig = apps.get_model("generation", "ModelConfig")
    for config in ModelConfig.objects.exclude(api_key="").only("id", "api_key").iterator():
        # Read: legacy plaintext comes back as is; save: the field encrypts it.
        ModelConfig.objects.filter(pk=config.pk).update(api_key=config.api_key)


def decrypt_all(apps, schema_editor):
    """Reverse: plaintext again (written with SQL, since the field would encrypt it)."""
    ModelConfig = apps.get_model("generation", "ModelConfig")
    table = schema_editor.quote_name(ModelConfig._meta.db_table)
    with schema_editor.connection.cursor() as cursor:
        for config in ModelConfig.objects.exclude(api_key="").only("id", "api_key").iterator():
            sql = f"UPDATE {table} SET api_key = %s WHERE id = %s"  # nosec B608 - the table name is the model's
            cursor.execute(sql, [config.api_key, config.pk])


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0002_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="modelconfig",
            name="api_key",
            field=labelhub.core.crypto.EncryptedTextField(blank=True),
        ),
        migrations.RunPython(encrypt_existing, decrypt_all),
    ]
