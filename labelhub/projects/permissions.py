"""What each project role may do. One table, read by services, selectors, views and APIs."""

from enum import StrEnum

from .models import Role


class Capability(StrEnum):
    VIEW = "view"  # see the project, its guidelines and prompts
    MANAGE = "manage"  # settings, members, guidelines, model configs, imports
    LABEL = "label"  # write demonstrations and rankings
    REVIEW = "review"  # accept/reject others' labels
    EXPORT = "export"  # read labels and exports
    # Which model wrote a candidate: model configs (names, servers, system prompts, connection
    # errors), generation batches and jobs, a candidate's provenance, the model leaderboard.
    # Labelers and reviewers never see it: it would bias their comparisons, and so the leaderboard.
    SEE_PROVENANCE = "see_provenance"
    # Evaluation sets and runs: create them, read their reports (which name the models compared).
    EVALUATE = "evaluate"
    # Decide what happens to an answer an evaluation condemned (fix / won't fix / duplicate). Shows the
    # answer and the comparison that condemned it, never which model config wrote it.
    TRIAGE = "triage"


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.ADMIN: frozenset(
        {
            Capability.VIEW,
            Capability.MANAGE,
            Capability.LABEL,
            Capability.REVIEW,
            Capability.EXPORT,
            Capability.SEE_PROVENANCE,
            Capability.EVALUATE,
            Capability.TRIAGE,
        }
    ),
    Role.LABELER: frozenset({Capability.VIEW, Capability.LABEL}),
    Role.REVIEWER: frozenset({Capability.VIEW, Capability.LABEL, Capability.REVIEW, Capability.TRIAGE}),
    Role.ENGINEER: frozenset({Capability.VIEW, Capability.EXPORT, Capability.SEE_PROVENANCE, Capability.EVALUATE}),
}


def role_can(role: str | None, capability: Capability) -> bool:
    return role is not None and capability in ROLE_CAPABILITIES.get(role, frozenset())


def roles_with(capability: Capability) -> tuple[str, ...]:
    """The roles that have `capability` (for queries that check a stored role in SQL)."""
    return tuple(role for role, capabilities in ROLE_CAPABILITIES.items() if capability in capabilities)
