"""The prompts fragments of the pages of the apps below prompts (which must not import it):
{% load prompts %}."""

from django import template

from labelhub.core.pagination import BoundedCount

from .. import selectors

register = template.Library()


@register.simple_tag
def prompt_count(project) -> BoundedCount:
    """{% prompt_count project as prompt_count %}: how many prompts the project holds, bounded
    (selectors.prompt_count: one COUNT, "10,000+" beyond the cap). The project overview shows it."""
    return selectors.prompt_count(project=project)


@register.filter
def track_label(track: str, labels) -> str:
    """{{ prompt.track|track_label:track_labels }}: the track's label in the project's schema
    (projects.selectors.project_track_labels), else the track's own name."""
    return (labels or {}).get(track) or track
