import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelhub.settings")
application = get_wsgi_application()


def _warm_up() -> None:
    """Import every view now (Django loads the URLconf lazily, on the first request), while the
    worker boots, so the first labeler's request after a deploy or a restart of each gunicorn
    worker does not pay for importing the whole application."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the attribute access does the importing


_warm_up()
