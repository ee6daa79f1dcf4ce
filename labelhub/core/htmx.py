from django.http import HttpRequest


def partial(request: HttpRequest, template: str, name: str) -> str:
    """The template to render: the named partial for an htmx request, the whole page otherwise."""
    return f"{template}#{name}" if getattr(request, "htmx", False) else template
