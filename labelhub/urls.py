from django.contrib import admin
from django.urls import include, path

from labelhub.core.views import healthz
from labelhub.generation.views import batch_redirect
from labelhub.projects import urls as projects_urls

P = projects_urls.PROJECT_PREFIX

# Every page is in the "projects" namespace: the projects app's own pages, then each app's pages under
# a project ("projects:<app>:<name>", the apps' urls modules). Routed here, not in projects/urls.py,
# so that projects imports none of the apps above it (tests/test_import_order.py).
project_pages = [
    *projects_urls.urlpatterns,
    path(P + "prompts/", include("labelhub.prompts.urls")),
    path(P + "generation/", include("labelhub.generation.urls")),
    path(P + "label/", include("labelhub.labeling.urls")),
    path(P + "exports/", include("labelhub.exports.urls")),
    path(P + "quality/", include("labelhub.quality.urls")),
    path(P + "evaluation/", include("labelhub.evaluation.urls")),
    # The batch id the API returns → its page in its project (404 unless a member).
    path("generation-batches/<id:batch_id>/", batch_redirect, name="generation-batch"),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include(("labelhub.api.urls", "api"), namespace="api")),
    path("accounts/", include("labelhub.accounts.urls")),
    path("", include((project_pages, "projects"))),
]

handler400 = "labelhub.core.handlers.bad_request"
handler403 = "labelhub.core.handlers.permission_denied"
handler404 = "labelhub.core.handlers.page_not_found"
handler500 = "labelhub.core.handlers.server_error"
