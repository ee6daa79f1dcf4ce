from django.contrib import admin

from labelhub.projects.admin import ReadOnlyAdmin

from .models import ExportSnapshot


@admin.register(ExportSnapshot)
class ExportSnapshotAdmin(ReadOnlyAdmin):
    """Snapshots are written once by a worker and never changed: viewable only."""

    list_display = ("id", "project", "kind", "format", "status", "rows", "size_bytes", "created_by", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("project__name",)
    list_select_related = ("project", "created_by")
    show_full_result_count = False
