from django.urls import include, path

from labelhub.generation import views as generation_views

from . import views

app_name = "projects"

P = "projects/<id:project_id>/"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("projects/new/", views.project_create, name="create"),
    path(P, views.project_detail, name="detail"),
    path(P + "settings/", views.project_settings, name="settings"),
    path(P + "members/", views.members, name="members"),
    path(P + "members/<id:membership_id>/role/", views.member_role, name="member-role"),
    path(P + "members/<id:membership_id>/remove/", views.member_remove, name="member-remove"),
    path(P + "guidelines/", views.guidelines, name="guidelines"),
    path(P + "guidelines/v/<id:number>/", views.guideline_version, name="guideline-version"),
    path(P + "guidelines/diff/", views.guideline_diff, name="guideline-diff"),
    path(P + "guidelines/edit/", views.guideline_edit, name="guideline-edit"),
    path(P + "guidelines/acknowledge/", views.guideline_acknowledge, name="guideline-acknowledge"),
    path(P + "prompts/", include("labelhub.prompts.urls")),
    path(P + "generation/", include("labelhub.generation.urls")),
    path(P + "label/", include("labelhub.labeling.urls")),
    path(P + "exports/", include("labelhub.exports.urls")),
    path(P + "quality/", include("labelhub.quality.urls")),
    # The batch id the API returns → its page in its project (404 unless a member).
    path("generation-batches/<id:batch_id>/", generation_views.batch_redirect, name="generation-batch"),
]
