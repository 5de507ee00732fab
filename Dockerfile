# One image for every service; SERVICE picks the app at run time (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app qof \
    && mkdir -p /app/var && chown qof /app/var
USER qof

ENV SERVICE=registers \
    QOF_ENVIRONMENT=production
EXPOSE 8000
# --app-dir keeps the source tree first on sys.path, so each service finds its Alembic migrations folder.
CMD ["sh", "-c", "exec uvicorn --factory services.${SERVICE}.app:create_app --app-dir /app --host 0.0.0.0 --port 8000 --proxy-headers --no-server-header"]
