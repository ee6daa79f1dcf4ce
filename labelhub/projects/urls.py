from django.urls import path

from . import views

# The projects app's own pages. labelhub/urls.py (the composition root) routes them in the "projects"
# namespace together with the pages of the apps above projects under a project (PROJECT_PREFIX).
PROJECT_PREFIX = P = "projects/<id:project_id>/"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("projects/new/", views.project_create, name="create"),
    path(P, views.project_detail, name="detail"),
    path(P + "settings/", views.project_settings, name="settings"),
    path(P + "members/", views.members, name="members"),
    path(P + "members/<id:membership_id>/role/", views.member_role, name="member-role"),
    path(P + "members/<id:membership_id>/remove/", views.member_remove, name="member-remove"),
    path(P + "members/<id:membership_id>/link/", views.member_link, name="member-link"),
    path(P + "guidelines/", views.guidelines, name="guidelines"),
    path(P + "guidelines/v/<id:number>/", views.guideline_version, name="guideline-version"),
    path(P + "guidelines/diff/", views.guideline_diff, name="guideline-diff"),
    path(P + "guidelines/edit/", views.guideline_edit, name="guideline-edit"),
    path(P + "guidelines/acknowledge/", views.guideline_acknowledge, name="guideline-acknowledge"),
]
