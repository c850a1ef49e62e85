# The GitHub Action's image: Python and hokusai-action with its runtime extras, nothing else.
# No WORKDIR: the runner mounts the repository and sets the working directory itself.
# Runs as root, as GitHub requires for container actions. The workspace belongs to the
# runner's user (uid 1001 on GitHub's runners), not root: the entrypoint hands the files it
# writes there to the workspace's owner before it exits (hokusai_action/github/container.py).
#
# Every package is pinned with its hashes: requirements/action.lock (pyproject.toml's
# `action` extra) and requirements/build.lock (the build backend). Their headers say how
# to regenerate them; the tests' venv is installed with the same versions (.ci/run).

# The wheel, built with the locked build backend (not whatever version PyPI has today).
FROM python:3.11.14-slim-bookworm AS wheel
COPY requirements/build.lock /tmp/build.lock
RUN pip install --no-cache-dir --disable-pip-version-check --require-hashes -r /tmp/build.lock
COPY pyproject.toml README.md /src/
COPY schemas /src/schemas
COPY hokusai_action /src/hokusai_action
RUN pip wheel --no-cache-dir --disable-pip-version-check --no-deps --no-build-isolation \
    --wheel-dir /wheels /src

FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Dependencies first: a change to the code alone rebuilds only the last layers.
# What measuring never imports is removed in the same layer, so the image stays under 800 MB:
# the libraries' own test suites (scipy, pandas, scikit-learn, numpy: some 170 MB), pyarrow's
# Flight RPC library, the C, C++ and Cython sources and headers, and onnxruntime's
# model-optimisation scripts. The last line proves that what is kept still imports.
COPY requirements/action.lock /tmp/action.lock
ARG SITE=/usr/local/lib/python3.11/site-packages
RUN pip install --no-cache-dir --require-hashes -r /tmp/action.lock && rm /tmp/action.lock \
    && find "$SITE" -depth -type d -name tests -path '*/site-packages/*/*' -exec rm -rf {} + \
    && rm -rf "$SITE"/pyarrow/*flight* "$SITE"/pyarrow/include "$SITE"/pyarrow/includes \
       "$SITE"/pyarrow/src "$SITE"/onnxruntime/transformers \
    && find "$SITE" -type f \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' -o -name '*.h' \
       -o -name '*.hpp' -o -name '*.c' -o -name '*.cpp' \) -delete \
    && python -c "import pandas, pyarrow.parquet, pyarrow.dataset, sklearn, scipy.stats, onnxruntime"
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels

ENTRYPOINT ["/usr/local/bin/hokusai-action-github"]
