# The dashboard and GraphiQL (dashboard/, Vite): built here from the lock file; only the built files reach the image,
# which runs no Node.js. The build imports the GraphQL operations from budsim/web/operations/ and writes
# budsim/web/static/ beside them, so both keep the repository's layout under /src.
FROM node:20-slim AS dashboard
WORKDIR /src/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY dashboard ./
COPY budsim/web/operations /src/budsim/web/operations
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/budsim.db PORT=9083 MODEL_PATH=/app/models/xgboost.json \
    AUTH_DISABLED=false

# The service's user (uid 10001) owns what it writes at run time: the SQLite database in /data and MODEL_PATH in
# /app/models (a first start retrains it when runs were recorded). The code stays root's, read-only to it.
RUN useradd --create-home --uid 10001 budsim && mkdir -p /data /app/models && chown budsim:budsim /data /app/models
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY budsim ./budsim
COPY --from=dashboard /src/budsim/web/static ./budsim/web/static
COPY migrations ./migrations
COPY data ./data
RUN pip install -e .  # compiled at install: each process (server, prediction and search children) starts ~1 s sooner

USER 10001
# The image ships a regressor trained from the repository's benchmarks alone, so a container on a new database starts
# serving at once. It is only a cache: a database holding recorded runs but no regressor version retrains on them at
# the first start, and a database with versions serves its active one (`retrainRegressor` makes more).
RUN budsim train --no-logo --no-stored --output /app/models/xgboost.json
EXPOSE 9083
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '9083'), timeout=2)"]
CMD ["sh", "-c", "budsim migrate && exec budsim serve"]
