"""A fixed, realistic Report for rendering tests and the documented comment example."""

from __future__ import annotations

from pathlib import Path

from hokusai_action.registry.baseline import Benchmark
from hokusai_action.registry.deltaone import Baseline, decide
from hokusai_action.registry.plan import ModelFiles, Plan
from hokusai_action.registry.results import Report, Status
from hokusai_action.validation import metrics


def sample_report(
    name: str = "customer-churn-predictor",
    value: float = 0.9425,
    baseline: float | None = 0.9312,
    status: Status = Status.REGISTERED,
) -> Report:
    metric = metrics.lookup("accuracy").metric
    assert metric is not None
    plan = Plan(
        manifest="models/churn/hokusai.yaml", model_name=name, token_id="CHURN-001",
        metric=metric, benchmark=Benchmark("accuracy", "higher", "churn-holdout", "v2.1"),
        value=value, value_source="manifest",
        model=ModelFiles(Path("models/churn"), True, 2, 275, "0" * 64), params={}, metrics={},
        version_tags={}, run_tags={}, description=None, semver="1.2.0",
        commit="4f1c2a9e8d7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a", samples=5000, pinned_version=None,
        pinned_value=None, manifest_data={}, registration_key="k",
    )  # fmt: skip
    why = "best rewarded value on churn-holdout v2.1"
    base = Baseline(baseline, 3, 5000, why=why) if baseline is not None else None
    report = Report(status, plan, "https://registry.example/api/mlflow",
                    decide(metric, value, base, samples=5000))  # fmt: skip
    report.history = [(1, 0.9104), (2, 0.9205), (3, 0.9312)]
    if status is Status.REGISTERED:
        report.version, report.run_id = 4, "e3f611f6ca074ef6910f49db0ae539df"
        report.history.append((4, value))
        report.aliases = ["challenger"]
        report.attestation_sha256 = (
            "e159feec9ae4685c948ae0b2e79b19c53b78bdcf71618bc0cfd7f1e907dc78f9"
        )
        report.links = {
            "run": "https://registry.example/#/experiments/1/runs/e3f611f6ca074ef6910f49db0ae539df",
            "model_version": "https://registry.example/#/models/customer-churn-predictor/versions/4",
        }
    return report
