from django.urls import path

from . import views

# Included by labelhub/urls.py under projects/<id:project_id>/exports/,
# so the names are "projects:exports:<name>".
app_name = "exports"

urlpatterns = [
    path("", views.snapshot_list, name="list"),
    path("new/", views.snapshot_create, name="create"),
    path("<id:snapshot_id>/", views.snapshot_row, name="snapshot"),
    path("<id:snapshot_id>/download/", views.snapshot_download, name="download"),
]
