# Kokous: one container serving the web app with SQLite under /data (set KOKOUS_DATABASE_URL for PostgreSQL).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    KOKOUS_DATA_DIR=/data

# Fonts and text shaping for PDF minutes (WeasyPrint); libsrtp/opus/vpx come inside the aiortc and av wheels.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
      libharfbuzz-subset0 fontconfig fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 kokous \
 && mkdir -p /data && chown kokous:kokous /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY audit audit
COPY auth auth
COPY meetings meetings
COPY minutes minutes
COPY media media
COPY web web
COPY migrations migrations
RUN pip install .

USER kokous
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["sh", "-c", "kokous db upgrade && exec kokous serve --host 0.0.0.0 --port 8000 --proxy-headers"]
