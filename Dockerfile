# syntax=docker/dockerfile:1
# gyre: a Centrifugo v4 compatible real-time messaging server.
#   docker build -t gyre:0.1.0 .
#   docker run -p 8000:8000 gyre:0.1.0                      # built-in empty config
#   docker run -v $PWD/config.json:/centrifugo/config.json:ro -p 8000:8000 gyre:0.1.0
# The Helm chart under helm/ uses this image by default (gyre:<appVersion>).
ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: install the project and its dependencies into a virtualenv -------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/gyre
WORKDIR /src
# The context is filtered by .dockerignore down to pyproject.toml, service/, generated/ & co.
COPY . .
RUN /opt/gyre/bin/pip install --upgrade pip setuptools wheel \
 && /opt/gyre/bin/pip install . \
 && /opt/gyre/bin/python -m compileall -q /opt/gyre/lib \
 && /opt/gyre/bin/python -c "import service; from centrifugal.centrifuge.protocol import client_pb2" \
 && test -x /opt/gyre/bin/gyre

# ---- runtime ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/gyre/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 gyre \
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
# The server drains connections on SIGTERM within shutdown_timeout.
STOPSIGNAL SIGTERM
ENTRYPOINT ["gyre"]
CMD ["-c", "/centrifugo/config.json"]
