"""The guidelines gate shared by the workbench and the review queue: until a member acknowledged
the current version, the page shows what changed since the version they acknowledged (rendered: a
block diff of the Markdown and the schema changes in words, projects.selectors.guideline_changes) or
the whole version, and the acknowledge button; nothing else. Template: templates/labeling/_gate.html."""

from django.contrib import messages

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError
from labelhub.projects import selectors as project_selectors
from labelhub.projects import services as project_services
from labelhub.projects.models import Project

GATE_INLINE_CHARS = 20_000  # the gate renders the whole new version under its changes up to this size


def guideline_gate(*, project: Project, user: User) -> dict:
    """Context for a gated page: `current` (None: nothing published), `acknowledged_number`, `gate`
    (True: show the gate, not the page), and for the gate `changes` and `inline_full`. Two queries
    when the gate is open, one more (the old version) when it shows changes."""
    current = project_selectors.guideline_version_current(project=project)
    acked = project_selectors.guideline_acknowledged_number(project=project, user=user)
    context = {"current": current, "acknowledged_number": acked, "gate": False}
    if current is None or acked == current.number:
        return context
    context["gate"] = True
    if acked:
        context["changes"] = project_selectors.guideline_changes(project=project, old_number=acked, new=current)
    # Markdown costs ~20 µs a line: a long version is linked, not rendered under the changes.
    context["inline_full"] = len(current.content) <= GATE_INLINE_CHARS
    return context


def gate_acknowledge(request, project: Project, *, then: str = "") -> None:
    """The gate's button: acknowledge the version number it posted; the outcome as a message (`then`
    ends the success message). The caller redirects back to its page."""
    try:
        ack = project_services.guideline_acknowledge(
            project=project, user=request.user, number=request.POST.get("number", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"You acknowledged version {ack.version.number} of the guidelines.{then}")
