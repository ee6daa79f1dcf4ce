"""The OpenAPI document and its Swagger UI page (kept apart from schema.py, which DRF's settings import).

drf-spectacular reads `?version=` into the schema's Content-Disposition filename (a reflected file
download) and forwards `lang` and `version` into the docs page's URLs: like every other API view,
these refuse parameters they do not take, with the usual JSON error body.
"""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer

from .utils import check_query_params


class _StrictQuery:
    allowed_query_params: frozenset[str] = frozenset()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        check_query_params(request, set(self.allowed_query_params))

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(response, "exception", False):  # errors are JSON, not YAML or a Swagger page
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class SchemaApi(_StrictQuery, SpectacularAPIView):
    """The OpenAPI document: no parameters."""


class SchemaDocsApi(_StrictQuery, SpectacularSwaggerSplitView):
    """Swagger UI; `?script` fetches its init script (split, so the CSP needs no inline script)."""

    allowed_query_params = frozenset({"script"})
