FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/budsim.db PORT=9083 MODEL_PATH=/app/models/residual.json

RUN useradd --create-home --uid 10001 budsim && mkdir /data && chown budsim /data
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY budsim ./budsim
COPY migrations ./migrations
COPY data ./data
RUN pip install --no-compile -e .
# The image ships its regressor, trained from the repository's benchmarks, so a container starts serving at once.
RUN budsim train --no-logo --no-stored --output /app/models/residual.json

USER budsim
EXPOSE 9083
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"9083\")}/healthz', timeout=2)"
CMD ["sh", "-c", "budsim migrate && exec budsim serve"]
