from django.urls import path

from . import views

# Included by labelhub/projects/urls.py under projects/<int:project_id>/prompts/,
# so the names are "projects:prompts:<name>".
app_name = "prompts"

urlpatterns = [
    path("", views.prompt_list, name="list"),
    path("<int:prompt_id>/", views.prompt_detail, name="detail"),
    path("import/", views.prompt_import, name="import"),
    path("imports/<int:import_id>/", views.prompt_import_detail, name="import-detail"),
]
