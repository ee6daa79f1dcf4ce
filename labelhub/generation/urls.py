from django.urls import path

from . import views

# Included by labelhub/urls.py under projects/<id:project_id>/generation/,
# so the names are "projects:generation:<name>".
app_name = "generation"

urlpatterns = [
    path("models/", views.model_config_list, name="models"),
    path("models/new/", views.model_config_create, name="model-create"),
    path("models/<id:config_id>/", views.model_config_row, name="model"),
    path("models/<id:config_id>/edit/", views.model_config_edit, name="model-edit"),
    path("models/<id:config_id>/test/", views.model_config_test, name="model-test"),
    path("models/<id:config_id>/active/", views.model_config_active, name="model-active"),
    path("models/<id:config_id>/delete/", views.model_config_delete, name="model-delete"),
    path("batches/", views.batch_list, name="batches"),
    path("batches/new/", views.batch_start, name="batch-start"),
    path("batches/<id:batch_id>/", views.batch_detail, name="batch"),
    path("batches/<id:batch_id>/retry-failed/", views.batch_retry_failed, name="batch-retry-failed"),
    path("jobs/<id:job_id>/retry/", views.job_retry, name="job-retry"),
]
