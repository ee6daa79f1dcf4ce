from django.contrib import admin

from labelhub.projects.admin import ReadOnlyAdmin

from .models import Candidate, ProjectTag, Prompt, PromptImport


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "external_id", "track", "created_at")
    list_filter = ("track", "project")
    search_fields = ("external_id", "text")
    readonly_fields = ("content_hash", "created_by", "source_import", "created_at", "updated_at")
    list_select_related = ("project",)
    show_full_result_count = False


@admin.register(ProjectTag)
class ProjectTagAdmin(ReadOnlyAdmin):
    list_display = ("name", "project")


@admin.register(Candidate)
class CandidateAdmin(ReadOnlyAdmin):
    """Candidates are what a model said (or what was imported): evidence, never edited by hand."""

    list_display = ("id", "prompt", "source", "model_name", "created_at")
    list_filter = ("source",)
    show_full_result_count = False


@admin.register(PromptImport)
class PromptImportAdmin(ReadOnlyAdmin):
    list_display = ("id", "project", "filename", "status", "created_count", "skipped_count", "created_at")
    list_filter = ("status",)
