"""Form helpers shared by the htmx pages (no domain imports)."""

from django import forms

from labelhub.core.exceptions import ApplicationError


def apply_service_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's ApplicationError on a form: its message as a form error, plus any
    per-field messages (`extra["fields"]`) on the fields the form has."""
    form.add_error(None, exc.message)
    for name, messages in (exc.extra.get("fields") or {}).items():
        if name in form.fields and name not in form.errors:
            for message in messages if isinstance(messages, list) else [messages]:
                form.add_error(name, str(message))


class Form(forms.Form):
    """Base for the pages' forms: labels without a trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
