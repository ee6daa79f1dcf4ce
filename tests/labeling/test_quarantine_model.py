"""Quarantine is a labeling model (a labeler's standing, read by every claim and submit) on the table
the quality app created: the move is a state change only (no SQL), and the rows already there stay."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from labelhub.labeling.models import Quarantine

BEFORE = [("labeling", "0004_queue_indexes_at_scale"), ("quality", "0001_initial")]
MOVE = [("labeling", "0005_quarantine_from_quality"), ("quality", "0002_quarantine_to_labeling")]


def _statements(app: str, name: str, *, backwards: bool) -> list[str]:
    out = io.StringIO()
    call_command("sqlmigrate", app, name, backwards=backwards, stdout=out)
    lines = [line.strip() for line in out.getvalue().splitlines()]
    return [line for line in lines if line and not line.startswith("--") and line not in ("BEGIN;", "COMMIT;")]


@pytest.mark.django_db
@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize(("app", "name"), MOVE)
def test_the_move_runs_no_sql(app, name, backwards):
    assert _statements(app, name, backwards=backwards) == []


def test_the_model_keeps_its_table():
    assert Quarantine._meta.app_label == "labeling"
    assert Quarantine._meta.db_table == "quality_quarantine"


@pytest.mark.django_db
def test_the_models_match_the_migrations():
    call_command("makemigrations", "labeling", "quality", check=True, dry_run=True, stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_quarantines_written_before_the_move_are_read_after_it(project, staff):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    Old = executor.loader.project_state(BEFORE).apps.get_model("quality", "Quarantine")
    old = Old.objects.create(project_id=project.pk, user_id=staff.pk, reason="set before the move")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    moved = Quarantine.objects.get()
    assert (moved.pk, moved.project_id, moved.user_id, moved.reason, moved.active) == (
        old.pk, project.pk, staff.pk, "set before the move", True,
    )  # fmt: skip
