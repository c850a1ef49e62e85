"""Registration: a manifest becomes a plan, is judged against the registered baseline
(the DeltaOne verdict) and written to an MLflow registry.

Only `mlflow_store` imports MLflow, and only when a registry is opened.
"""

# The registry commands show these defaults in their help, so the command line reads them
# here without importing the settings module (and what it imports) on every start.
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT = 6  # seconds per request: a dead registry fails in about 20 s in all
