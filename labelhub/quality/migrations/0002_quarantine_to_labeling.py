# The Quarantine model now belongs to the labeling app (labeling 0005 adds it to labeling's state,
# keeping the table quality_quarantine). State only: the table and its rows stay, no SQL runs.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('quality', '0001_initial'),
        ('labeling', '0005_quarantine_from_quality'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Quarantine')],
            database_operations=[],
        ),
    ]
