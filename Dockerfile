# syntax=docker/dockerfile:1
#
# ECG explorer image: the Streamlit app (default command) and the CLI.
#
#   CPU (default):
#     docker build -t ecg-explorer:latest .
#   CUDA (same slim base; PyTorch's CUDA wheels bring their own CUDA runtime,
#   the node only needs the NVIDIA driver + container toolkit / device plugin):
#     docker build -t ecg-explorer:cuda \
#       --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu130 .
#   (use a CUDA variant that PyTorch publishes for TORCH_VERSION; a different
#   base such as an nvidia/cuda image also works via --build-arg BASE_IMAGE=...
#   as long as it provides `python` 3.11 with pip.)
#
#   docker run --rm -p 8501:8501 ecg-explorer:latest              # app
#   docker run --rm ecg-explorer:latest python -m ecgcore info    # CLI
#
# Kubernetes manifests: deploy/k8s (docs/kubernetes.md).

ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# torch is installed first, from PyTorch's own index: CPU wheels by default
# (much smaller than the CUDA build PyPI serves). Keep TORCH_VERSION equal to
# the torch pin in requirements.txt (the runtime lock, .ci/lock).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

# tini: PID 1 that forwards SIGTERM (pod deletion) to the app / training.
# ca-certificates: HTTPS for `python -m ecgcore download` (the PTB-XL download Job, deploy/k8s/jobs/data).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Unprivileged user; uid/gid 1000 match the pods' securityContext.
RUN groupadd --gid 1000 app \
    && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin app

WORKDIR /app

RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"
COPY requirements.txt ./
# The runtime lock: every package pinned ==, so the image gets the versions the
# tests passed with (a new Streamlit cannot change the app under its users).
# torch is already satisfied (2.13.0+cpu, or +cuXXX, matches ==2.13.0), so pip keeps it.
RUN pip install -r requirements.txt

# Code stays root-owned and read-only for the app user (.dockerignore keeps
# checkpoints, caches, data and VCS files out).
COPY . .

# Writable places for the default (non-Kubernetes) locations; in Kubernetes
# everything under /data is the shared volume.
RUN mkdir -p /data /app/checkpoints \
    && chown app:app /data /app/checkpoints

USER 1000:1000
EXPOSE 8501

ENTRYPOINT ["/usr/bin/tini", "--"]
# `python -m ecgcore app` = `streamlit run streamlit_app.py`, with torch & co. imported before the server
# listens (ecgcore/app_server.py): the readiness probe passes once no first visit waits for an import.
CMD ["python", "-m", "ecgcore", "app", "--server.port", "8501", "--server.address", "0.0.0.0"]
