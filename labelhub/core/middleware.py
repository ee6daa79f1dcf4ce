"""The database is down or restarting: a clean 503 with Retry-After, not a 500 with a traceback.

PostgreSQL restarts (upgrades, failover, OOM) end every open session with an OperationalError and
refuse new connections for a few seconds. A request caught in that window gets a 503 the client can
retry: JSON under /api/, a plain page elsewhere (rendered without the request, so nothing touches
the database again). The broken connection is dropped at the end of the request
(`close_if_unusable_or_obsolete`) and the next request connects afresh (CONN_HEALTH_CHECKS), so the
service recovers by itself once PostgreSQL is back.

Two entry points cover every place the error can surface: `process_exception` for views (and DRF,
which re-raises what its handler does not know), and `server_error` (handler500, in core.handlers)
for middleware such as sessions and authentication."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger("labelhub.database")

RETRY_AFTER_SECONDS = 5
MESSAGE = "The database is unavailable (restarting or unreachable). Try again in a few seconds."


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Connection-level failures only: a ProgrammingError or an IntegrityError is a bug, not an outage."""
    return isinstance(exc, OperationalError | InterfaceError)


def database_unavailable_response(request) -> HttpResponse:
    if request.path.startswith("/api/"):
        response = JsonResponse({"message": MESSAGE, "extra": {"retry_after": RETRY_AFTER_SECONDS}}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        logger.warning("database unavailable during %s %s: %s", request.method, request.path, exception)
        return database_unavailable_response(request)
