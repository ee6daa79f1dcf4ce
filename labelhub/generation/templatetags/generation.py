"""Filters for the generation pages, and the generation fragments of the prompt pages (the app below
generation must not import it): {% load generation %}."""

from datetime import timedelta

from django import template
from django.utils import timezone

from labelhub.integrations.inference.errors import describe
from labelhub.projects.permissions import Capability

from ..selectors import model_config_list

register = template.Library()


def _active_configs(context) -> list:
    """Active model configs, for the admins' "Generate candidates" forms (none for other roles)."""
    access = context["access"]
    if not access.can(Capability.MANAGE):
        return []
    return [c for c in model_config_list(project=access.project) if c.is_active]


@register.inclusion_tag("generation/_generate_panel.html", takes_context=True)
def generate_panel(context) -> dict:
    """The prompt list's "Generate candidates" panel: pick a config, fill prompts with fewer than K."""
    return {"project": context["project"], "configs": _active_configs(context)}


@register.inclusion_tag("generation/_generate_buttons.html", takes_context=True)
def generate_buttons(context, prompt) -> dict:
    """A prompt page's "Generate N candidates with <config>" buttons, one per active config."""
    return {"project": context["project"], "prompt": prompt, "configs": _active_configs(context)}


@register.filter
def duration(seconds) -> str:
    """42 → "42 s", 150 → "2 min 30 s", 4000 → "1 h 6 min"; None or "" → ""."""
    if seconds in (None, ""):
        return ""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if minutes < 10 and secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def visible_whitespace(text: str) -> str:
    """A stop sequence as typed in the form: newlines and tabs as \\n and \\t (autoescaped after)."""
    return (text or "").replace("\n", "\\n").replace("\t", "\\t")


@register.filter
def elapsed(progress) -> str:
    """How long a finished batch took, from its first start to its last finish ("" if unknown)."""
    started, finished = getattr(progress, "started_at", None), getattr(progress, "finished_at", None)
    if not started or not finished:
        return ""
    return duration(round((finished - started).total_seconds()))


# The connection check task's hard time limit is 90 s: a check still "running" well after that
# was never picked up (no worker) or was lost. The row stops polling and says so.
CHECK_STALE_AFTER = timedelta(seconds=120)


@register.filter
def check_stale(config) -> bool:
    """True when a config's connection check has been "running" for longer than any check can."""
    started = getattr(config, "last_check_at", None)
    return config.last_check_status == "running" and (started is None or timezone.now() - started > CHECK_STALE_AFTER)


@register.filter
def check_error(config) -> str:
    """A failed connection check, as one line built from its classification (never the server's reply)."""
    return describe(getattr(config, "last_check_error", None))
