# syntax=docker/dockerfile:1
# gyre: a Centrifugo v4 compatible real-time messaging server.
#   docker build -t gyre:0.1.0 .
#   docker build -t gyre:0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run -p 8000:8000 gyre:0.1.0                      # built-in empty config
#   docker run -v $PWD/config.json:/centrifugo/config.json:ro -p 8000:8000 gyre:0.1.0
# The Helm chart under helm/ uses this image by default (gyre:<appVersion>).
# tests/helm/test_image.py replays the install step and the HEALTHCHECK outside Docker.
ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: the locked dependencies and the project into a virtualenv at its final path -------
FROM ${PYTHON_IMAGE} AS build
# The uv release scripts/ensure_uv.sh pins; it stays in this stage.
ARG UV_VERSION=0.13.9
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/gyre \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
RUN python -m pip install "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first (a layer that only changes with uv.lock), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-editable --no-install-project
COPY service ./service
COPY generated ./generated
RUN uv sync --frozen --no-dev --no-editable \
 && /opt/gyre/bin/python -c "import service; from centrifugal.centrifuge.protocol import client_pb2" \
 && test -x /opt/gyre/bin/gyre

# ---- runtime ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
# The repository URL, e.g. --build-arg SOURCE=https://github.com/<owner>/gyre (none by default).
ARG SOURCE=""
LABEL org.opencontainers.image.title="gyre" \
      org.opencontainers.image.description="A gRPC-first, Centrifugo v4 compatible real-time messaging server" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/gyre/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CENTRIFUGO_HEALTH=true
# The base image's installers are build-only: the server never installs anything.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
 && rm -rf /usr/local/lib/python3*/ensurepip/_bundled \
 && groupadd --system --gid 10001 gyre \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin gyre \
 && mkdir -p /centrifugo \
 && echo '{}' > /centrifugo/config.json
COPY --from=build /opt/gyre /opt/gyre
WORKDIR /centrifugo
# Runs as a non-root user; works with a read-only root filesystem (mount /tmp if needed).
USER 10001:10001
# client (port), internal (internal_port), gRPC API, uni gRPC stream, bidirectional gRPC stream
EXPOSE 8000 9000 10000 11000 11001
# Liveness: GET <health_handler_prefix>/live on the internal port if set, else the client port
# (the process only, never Redis). CENTRIFUGO_HEALTH=true above turns the route on. The check
# reads CENTRIFUGO_PORT, CENTRIFUGO_INTERNAL_PORT and CENTRIFUGO_HEALTH_HANDLER_PREFIX, so set
# those as env vars (as the Helm chart does) rather than only in the config file. Plain HTTP
# first; a port that speaks TLS (tls: true) is asked over HTTPS, its certificate not checked.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/opt/gyre/bin/python", "-c", "import os, ssl, urllib.request; e = os.environ.get; port = next(p for p in (e('CENTRIFUGO_INTERNAL_PORT'), e('CENTRIFUGO_PORT'), '8000') if p and p != '0'); prefix = (e('CENTRIFUGO_HEALTH_HANDLER_PREFIX') or '/health').rstrip('/'); url = f'127.0.0.1:{port}{prefix}/live'; tls = ssl.create_default_context(); tls.check_hostname = False; tls.verify_mode = ssl.CERT_NONE\ntry: urllib.request.urlopen('http://' + url, timeout=2)\nexcept Exception: urllib.request.urlopen('https://' + url, timeout=2, context=tls)"]
# The server drains connections on SIGTERM within shutdown_timeout.
STOPSIGNAL SIGTERM
ENTRYPOINT ["gyre"]
CMD ["-c", "/centrifugo/config.json"]
