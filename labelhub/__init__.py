from .celery import app as celery_app

__version__ = "0.1.0"  # keep in step with pyproject.toml (a test checks)

__all__ = ("__version__", "celery_app")
