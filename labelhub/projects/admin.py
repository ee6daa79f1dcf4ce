from django.contrib import admin

from .models import GuidelineAcknowledgement, GuidelineDraft, GuidelineVersion, Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "demonstration_overlap",
        "comparison_overlap",
        "candidates_per_prompt",
        "created_at",
    )
    search_fields = ("name",)
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("project", "user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("project__name", "user__username")
    autocomplete_fields = ("user", "project")


@admin.register(GuidelineDraft)
class GuidelineDraftAdmin(admin.ModelAdmin):
    list_display = ("project", "updated_by", "updated_at")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Immutable data: viewable, never added, changed or deleted through the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GuidelineVersion)
class GuidelineVersionAdmin(ReadOnlyAdmin):
    list_display = ("project", "number", "change_note", "published_by", "published_at")
    list_filter = ("project",)


@admin.register(GuidelineAcknowledgement)
class GuidelineAcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ("user", "version", "acknowledged_at")
