# The Quarantine model moves from the quality app to labeling (a labeler's standing, read by every
# claim and submit). State only: the table stays quality_quarantine (Meta.db_table), no SQL runs.
# quality 0002 removes the model from quality's state after this.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('labeling', '0004_queue_indexes_at_scale'),
        ('projects', '0004_project_quality_settings'),
        ('quality', '0001_initial'),  # created the table
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Quarantine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('active', models.BooleanField(default=True)),
                        ('reason', models.TextField()),
                        ('released_at', models.DateTimeField(blank=True, null=True)),
                        ('release_reason', models.TextField(blank=True)),
                        ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='quarantines', to='projects.project')),
                        ('released_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='quarantines', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'quality_quarantine',
                        'ordering': ['-id'],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('active', True)), fields=('project', 'user'), name='quarantine_one_active')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
