"""Registration: a manifest becomes a plan, is judged against the registered baseline
(the DeltaOne verdict) and written to an MLflow registry.

Only `mlflow_store` imports MLflow, and only when a registry is opened.
"""
