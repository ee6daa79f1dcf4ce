# labelhub production image (used by docker-compose.yml for web, worker, migrate).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home app

# Dependencies first, so code changes don't reinstall them. The lock also
# pins the dev tools (pytest, ruff, playwright's Python package); they are
# small and keep the image able to run the test suite.
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

CMD ["gunicorn", "labelhub.wsgi:application", "--bind=0.0.0.0:8000", "--workers=3", "--timeout=120", "--access-logfile=-"]
