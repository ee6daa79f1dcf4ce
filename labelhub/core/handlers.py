"""Error pages: JSON under /api/, HTML elsewhere. Never a Django debug/HTML page for API clients."""

import sys

from django.http import JsonResponse
from django.views import defaults

from labelhub.core.middleware import database_unavailable_response, is_database_unavailable

_MESSAGES = {400: "Bad request.", 403: "Forbidden.", 404: "Not found.", 500: "Internal server error."}


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _json(status: int) -> JsonResponse:
    return JsonResponse({"message": _MESSAGES[status], "extra": {}}, status=status)


def bad_request(request, exception=None):
    return _json(400) if _is_api(request) else defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    return _json(403) if _is_api(request) else defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    return _json(404) if _is_api(request) else defaults.page_not_found(request, exception)


def server_error(request):
    # Called inside Django's `except` block: a database outage raised by a middleware (sessions,
    # authentication) is a 503 too, not a 500.
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable_response(request)
    return _json(500) if _is_api(request) else defaults.server_error(request)
