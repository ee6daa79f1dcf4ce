from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0002_quarantine_to_labeling"),
    ]

    operations = [
        migrations.AddField(
            model_name="goldstandard",
            name="answers",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="goldstandard",
            name="tolerance",
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
