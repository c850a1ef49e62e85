# The GitHub Action's image: Python and hokusai-action with its runtime extras, nothing else.
# No WORKDIR: the runner mounts the repository and sets the working directory itself.
# Runs as root, as GitHub requires for container actions (the workspace belongs to root).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

COPY pyproject.toml README.md /opt/hokusai-action/
COPY schemas /opt/hokusai-action/schemas
COPY hokusai_action /opt/hokusai-action/hokusai_action

# Versions are bounded in pyproject.toml, the one place the project pins its dependencies.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir "/opt/hokusai-action[action]" \
    && rm -rf /opt/hokusai-action

ENTRYPOINT ["/usr/local/bin/hokusai-action-github"]
