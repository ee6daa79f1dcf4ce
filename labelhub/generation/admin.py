from django.contrib import admin

from labelhub.projects.admin import ReadOnlyAdmin

from .models import GenerationBatch, GenerationJob, ModelConfig


@admin.register(ModelConfig)
class ModelConfigAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "model", "base_url", "temperature", "max_tokens", "is_active")
    list_filter = ("is_active", "project")
    # The API key is write-only: excluded from the admin form entirely (set it through the app).
    exclude = ("api_key",)
    readonly_fields = (
        "last_check_status",
        "last_check_at",
        "last_check_latency_ms",
        "last_check_model",
        "last_check_error",
    )


@admin.register(GenerationBatch)
class GenerationBatchAdmin(ReadOnlyAdmin):
    list_display = ("id", "project", "model_config", "mode", "job_count", "created_at")


@admin.register(GenerationJob)
class GenerationJobAdmin(ReadOnlyAdmin):
    list_display = ("id", "batch", "prompt", "sample_index", "status", "attempts", "finished_at")
    list_filter = ("status",)
    show_full_result_count = False
