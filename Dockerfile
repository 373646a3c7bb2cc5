FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir . \
 && DEBUG=1 python manage.py compilemessages --ignore=.venv -v0 \
 && DEBUG=1 STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput -v0
RUN useradd --create-home tidbok && mkdir -p /app/var && chown tidbok /app/var
USER tidbok
EXPOSE 8000 8001
CMD ["gunicorn", "--config=python:tidbok.gunicorn_conf", "tidbok.wsgi", "--bind=0.0.0.0:8001", "--bind=0.0.0.0:8000", "--workers=3"]
