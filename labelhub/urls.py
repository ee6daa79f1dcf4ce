from django.contrib import admin
from django.urls import include, path

from labelhub.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include(("labelhub.api.urls", "api"), namespace="api")),
    path("accounts/", include("labelhub.accounts.urls")),
    path("", include("labelhub.projects.urls")),
]

handler400 = "labelhub.core.handlers.bad_request"
handler403 = "labelhub.core.handlers.permission_denied"
handler404 = "labelhub.core.handlers.page_not_found"
handler500 = "labelhub.core.handlers.server_error"
