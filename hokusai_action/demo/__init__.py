"""The demo: one model's short history registered step by step, through the same validate,
plan and register functions as the command line and the action.

`history/` holds the steps, each a manifest beside a real model; `examples/build_models.py`
writes them. Nothing here imports MLflow until the demo runs.
"""
