# syntax=docker/dockerfile:1
# Lambda container image: runtime dependencies only (numpy, pydantic, Powertools, awslambdaric and
# their dependencies from the hash-pinned requirements/runtime.txt), the package and the model artifacts.
# Build for Lambda (single-platform manifest, no attestations Lambda cannot read):
#   docker build --platform linux/amd64 --provenance=false -t cnw:local .
# Local run with the Runtime Interface Emulator: docs/infra.md.

# Exact patch release of the slim Debian base; pin the digest too when promoting to a registry you
# control (docker buildx imagetools inspect python:3.11.13-slim-bookworm).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/runtime.txt /tmp/runtime.txt
# --require-hashes: every file is checked against the lock; --no-deps: the lock is the whole closure;
# --only-binary: wheels only, so the image never needs a compiler.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --no-deps --only-binary=:all: -r /tmp/runtime.txt

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LAMBDA_TASK_ROOT=/var/task \
    PYTHONPATH=/var/task \
    CNW_MODELS_DIR=/var/task/models
COPY --from=deps /opt/venv /opt/venv
WORKDIR /var/task
COPY challenge_neuralworks/ /var/task/challenge_neuralworks/
COPY models/ /var/task/models/
# Lambda's filesystem is read-only at run time: compile the package now so a cold start does not.
# Files stay world-readable, and the runtime user owns nothing it could modify.
RUN python -m compileall -q /var/task/challenge_neuralworks \
    && chmod -R a+rX /var/task /opt/venv \
    && useradd --system --no-create-home --uid 10001 --shell /usr/sbin/nologin lambda
USER 10001
ENTRYPOINT ["python", "-m", "awslambdaric"]
CMD ["challenge_neuralworks.handler.lambda_handler"]
