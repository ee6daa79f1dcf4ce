from django.urls import path

from . import views

# Included by labelhub/urls.py under projects/<id:project_id>/prompts/,
# so the names are "projects:prompts:<name>".
app_name = "prompts"

urlpatterns = [
    path("", views.prompt_list, name="list"),
    path("<id:prompt_id>/", views.prompt_detail, name="detail"),
    path("import/", views.prompt_import, name="import"),
    path("imports/<id:import_id>/", views.prompt_import_detail, name="import-detail"),
]
