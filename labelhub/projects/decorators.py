"""The one gate for project pages: login, then membership and role, as HTTP errors."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from labelhub.core.exceptions import Forbidden, NotFound

from .permissions import Capability
from .selectors import ProjectAccess, project_access


def project_view(capability: Capability = Capability.VIEW) -> Callable:
    """Decorate `view(request, access, **kwargs)` served under a `project_id` URL argument.

    Anonymous users go to the login page; non-members get 404 (the project's existence is not
    leaked); members whose role lacks `capability` get 403. NotFound/Forbidden raised later by a
    selector or service in the view become 404/403 too.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, project_id: int, *args, **kwargs) -> HttpResponse:
            try:
                access: ProjectAccess = project_access(user=request.user, project_id=project_id, capability=capability)
                return view(request, access, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc

        return login_required(wrapped)

    return decorator


def project_context(access: ProjectAccess, section: str, **extra) -> dict:
    """The context every project page template expects (see templates/projects/_project_base.html)."""
    return {
        "access": access,
        "project": access.project,
        "role": access.role,
        "can_manage": access.can(Capability.MANAGE),
        "can_label": access.can(Capability.LABEL),
        "can_review": access.can(Capability.REVIEW),
        "can_export": access.can(Capability.EXPORT),
        "can_see_provenance": access.can(Capability.SEE_PROVENANCE),
        "can_evaluate": access.can(Capability.EVALUATE),
        # Quality statistics name labelers: admins, reviewers and engineers (quality.selectors.stats_access).
        "can_see_quality": any(access.can(c) for c in (Capability.MANAGE, Capability.REVIEW, Capability.EXPORT)),
        "section": section,
        **extra,
    }
