"""The demo: one model's short history registered step by step, as the third face (after the
command line and the action) over the same validate, plan and register functions.

`history/` holds the steps, each a manifest beside a real model; `examples/build_models.py`
writes them. Nothing here imports MLflow until the demo runs.
"""
