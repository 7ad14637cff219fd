# Production image: gunicorn serves the app, the same image runs the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 salesintel

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs settings but no database: DATABASE_URL is a placeholder at build time.
RUN DATABASE_URL=postgresql://build@localhost/build SECRET_KEY=build python manage.py collectstatic --noinput

RUN mkdir -p /app/.local && chown salesintel:salesintel /app/.local
USER salesintel
EXPOSE 8000
CMD ["gunicorn", "salesintel.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
