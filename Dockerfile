# labelhub production image (used by docker-compose.yml for web, worker, migrate).
FROM python:3.11-slim

# MALLOC_ARENA_MAX: glibc gives each thread its own malloc arena, and each kept ~20 MB after an
# export; with 4 gunicorn threads a worker grew from 109 to 163 MB (bench/RESULTS.md, bench-export).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MALLOC_ARENA_MAX=2

WORKDIR /app

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home app

# Dependencies first, so code changes don't reinstall them. requirements.lock
# holds only what web, worker and beat import; the test, lint and bench tools
# (pytest, playwright, locust, schemathesis, datasets, pandas, scipy...) are in
# requirements-dev.lock and stay out of the image.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .

# Static files are collected at build time (whitenoise serves them). The
# secret here only satisfies settings; it is not used at run time.
RUN DEBUG=false SECRET_KEY=collectstatic-build-only python manage.py collectstatic --noinput \
    && mkdir -p /app/media \
    && chown app:app /app/media

USER app
EXPOSE 8000

# gthread: exports stream for minutes; a sync worker busy longer than --timeout is killed.
# The logger class redacts credentials in access lines (labelhub/core/gunicorn_logging.py).
CMD ["gunicorn", "labelhub.wsgi:application", "--bind=0.0.0.0:8000", "--worker-class=gthread", "--workers=3", "--threads=4", "--timeout=120", "--keep-alive=75", "--access-logfile=-", "--logger-class=labelhub.core.gunicorn_logging.RedactingLogger"]
