"""Registration: a manifest becomes a plan, is judged against the registered baseline
(the DeltaOne verdict) and written to an MLflow registry.

Only `mlflow_store` imports MLflow, and only when a registry is opened.
"""

# The registry commands show these defaults in their help, so the command line reads them
# here without importing the settings module (and what it imports) on every start.
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT = 6  # seconds per request: a dead registry fails in about 20 s in all
# Where secrets come from: the settings module masks them; the command line checks these names
# first, so a run with none set (the pre-commit hook's) never imports the settings module.
SECRET_VARIABLES = ("HOKUSAI_API_KEY", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD",
                    "GITHUB_TOKEN", "INPUT_API-KEY", "INPUT_GITHUB-TOKEN")  # fmt: skip
URI_VARIABLES = ("MLFLOW_TRACKING_URI", "INPUT_TRACKING-URI")  # their user part is a secret
