# OpenTCO dashboard for a team: one container, the DuckDB store on a volume, nothing fetched at run time.
#
#   docker build -t opentco .
#   docker run -d --name opentco -p 127.0.0.1:8501:8501 -v opentco-data:/data opentco
#
# Two stages: the first installs the package and its dependencies from PyPI into a virtual environment
# (build-time network only); the second copies that environment onto a clean slim image with the curated
# data and the Streamlit config, and runs as an unprivileged user. No source tree, compiler or pip cache is
# left in the image. See compose.yaml for a read-only root filesystem, restart policy and healthcheck.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY costmodel ./costmodel
COPY dashboard ./dashboard
# Only PyPI, and nothing compiles: every dependency is a published wheel (manylinux for CPython 3.11; checked on
# x86_64, where the installed environment measures 673 MB).
# The check runs from / so that it imports the installed copy, not the sources in /src.
RUN python -m venv /opt/opentco \
 && /opt/opentco/bin/pip install --index-url https://pypi.org/simple . \
 && cd / \
 && /opt/opentco/bin/python -c "import costmodel.store, importlib.util as u; assert u.find_spec('dashboard.serve')"

FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="OpenTCO" \
      org.opencontainers.image.description="LLM total-cost-of-ownership dashboard" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed uid/gid, so a bind-mounted /data can be chowned to it on the host (chown 10001:10001 DIR).
RUN groupadd --system --gid 10001 opentco \
 && useradd --system --uid 10001 --gid opentco --home-dir /home/opentco --create-home --shell /usr/sbin/nologin opentco \
 && mkdir /data \
 && chown opentco:opentco /data

COPY --from=build /opt/opentco /opt/opentco
# Application files stay owned by root: the app user can read them, not change them.
COPY data /app/data
COPY .streamlit/config.toml /app/.streamlit/config.toml
COPY docker/entrypoint.py /app/docker/entrypoint.py

# STREAMLIT_* override .streamlit/config.toml. No usage statistics leave the container; no file watcher
# (the code never changes in the image); bind every interface inside the container, publish with -p.
ENV PATH=/opt/opentco/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPENTCO_DB=/data/opentco.duckdb \
    OPENTCO_DATA_DIR=/app/data \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none

WORKDIR /app
USER opentco:opentco
VOLUME ["/data"]
EXPOSE 8501

# No curl or wget in the slim image: the entrypoint's `health` asks /_stcore/health with Python's urllib.
# The start period covers a cold start on a small machine (README, "Team deployment (Docker)").
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/entrypoint.py", "health"]

ENTRYPOINT ["python", "/app/docker/entrypoint.py"]
CMD ["dashboard"]
