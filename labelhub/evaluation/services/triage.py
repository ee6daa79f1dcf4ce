"""Triage of what an evaluation run condemned (owned by the triage stream)."""

from ..models import EvaluationRun


def triage_items_create(*, run: EvaluationRun) -> int:
    """Create the triage items of a finished run (idempotent); returns how many were created."""
    return 0
