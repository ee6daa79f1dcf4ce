import json

from django import template
from django.utils.safestring import mark_safe

from labelhub.core.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    """{{ value|markdown }}: untrusted Markdown rendered safely (see labelhub.core.markdown)."""
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitized by nh3 with an allow-list


@register.filter(name="markdown_text")
def markdown_text_filter(text: str) -> str:
    """{{ value|markdown_text }}: conversation text (prompts, model answers, labels) as Markdown that
    keeps single line breaks, rendered safely like |markdown."""
    return mark_safe(render_markdown(text, breaks=True))  # noqa: S308 - sanitized by nh3 with an allow-list


@register.filter
def pretty_json(value) -> str:
    """{{ value|pretty_json }}: JSON indented for a <pre> (autoescaped like any text); "" for empty."""
    if value in (None, "", {}, []):
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
