import threading

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from labelhub.core.exceptions import ApplicationError, Conflict
from labelhub.projects import selectors, services
from labelhub.projects.models import GuidelineVersion


@pytest.mark.django_db
def test_publish_numbers_versions_and_acknowledges_for_the_publisher(project, staff, publish):
    v1 = publish(project, staff, "one")
    v2 = publish(project, staff, "two")
    assert (v1.number, v2.number) == (1, 2)
    assert selectors.guideline_acknowledged_number(project=project, user=staff) == 2


@pytest.mark.django_db
def test_publish_requires_a_change_note_and_a_change(project, staff, publish):
    with pytest.raises(ApplicationError):
        services.guideline_version_publish(project=project, user=staff, change_note=" ", content="x")
    publish(project, staff, "same")
    with pytest.raises(ApplicationError, match="Nothing changed since version 1") as caught:
        publish(project, staff, "same")
    assert caught.value.status_code == 400  # tests/projects/test_guideline_publish.py


@pytest.mark.django_db
def test_publish_uses_the_draft_by_default(project, staff):
    services.guideline_draft_save(project=project, user=staff, content="# From the draft")
    version = services.guideline_version_publish(project=project, user=staff, change_note="first")
    assert version.content == "# From the draft"


@pytest.mark.django_db
def test_published_version_is_immutable_in_the_model(project, staff, publish):
    version = publish(project, staff, "original")
    version.content = "tampered"
    with pytest.raises(ApplicationError):
        version.save()


@pytest.mark.django_db
def test_published_version_is_immutable_in_the_database(project, staff, publish):
    """Even a raw queryset UPDATE (bypassing save()) is refused by the trigger."""
    version = publish(project, staff, "original")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        GuidelineVersion.objects.filter(pk=version.pk).update(content="tampered")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE projects_guidelineversion SET change_note = 'x' WHERE id = %s", [version.pk])
    version.refresh_from_db()
    assert version.content == "original"


def test_admin_refuses_to_change_versions():
    from django.contrib import admin

    model_admin = admin.site._registry[GuidelineVersion]
    assert not model_admin.has_change_permission(None)
    assert not model_admin.has_delete_permission(None)
    assert not model_admin.has_add_permission(None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_get_consecutive_numbers(project, staff):
    """Two admins publish at the same moment: N+1 and N+2, never two N+1."""
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    services.guideline_version_publish(project=project, user=staff, change_note="base", content="v1")
    barrier = threading.Barrier(4)
    errors = []

    def publish(i):
        try:
            barrier.wait()
            services.guideline_version_publish(project=project, user=staff, change_note=f"n{i}", content=f"text {i}")
        except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(GuidelineVersion.objects.filter(project=project).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5]


@pytest.mark.django_db
def test_acknowledge_only_the_current_version(project, staff, members, publish):
    publish(project, staff, "one")
    publish(project, staff, "two")
    labeler = members["labeler"]
    assert selectors.guideline_acknowledged_number(project=project, user=labeler) is None
    with pytest.raises(Conflict):
        services.guideline_acknowledge(project=project, user=labeler, number=1)
    services.guideline_acknowledge(project=project, user=labeler, number=2)
    services.guideline_acknowledge(project=project, user=labeler, number=2)  # idempotent
    assert selectors.guideline_acknowledged_number(project=project, user=labeler) == 2
    acks = selectors.guideline_acknowledgements(project=project)
    assert acks[labeler.pk] == 2 and acks[members["engineer"].pk] is None


@pytest.mark.django_db
def test_diff_is_plain_text_lines(project, staff, publish):
    publish(project, staff, "# Title\nkeep\nold <script>alert(1)</script>\n")
    publish(project, staff, "# Title\nkeep\nnew line\n")
    diff = selectors.guideline_diff(project=project, old_number=1, new_number=2)
    assert ("del", "-old <script>alert(1)</script>") in diff.unified
    assert ("add", "+new line") in diff.unified
    assert (diff.added, diff.removed) == (1, 1)
    kinds = [row.kind for row in diff.side_by_side]
    assert kinds == ["equal", "equal", "replace"]
