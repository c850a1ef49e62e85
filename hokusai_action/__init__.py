"""hokusai-action: Hokusai model manifests, MLflow registration and DeltaOne reports from Git."""

__version__ = "0.1.0"
