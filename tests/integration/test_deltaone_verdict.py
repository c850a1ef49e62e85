"""The DeltaOne verdict of record, against a real `mlflow server` and the embedded registry.

Each test runs on both. The worked history in docs/verdict.md is produced here: the test
fails when its table is not what the code decides.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from hokusai_action.commands.benchmark import Changes, set_record
from hokusai_action.errors import HokusaiError
from hokusai_action.registry.deltaone import Outcome, Verdict
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.output import OUTCOME_TEXT, number, report_json, report_text
from hokusai_action.registry.plan import plan
from hokusai_action.registry.register import Decision, compare, dry_run, register
from hokusai_action.registry.results import Report
from hokusai_action.registry.settings import RegistrySettings, resolve_settings
from hokusai_action.validation.checker import check_paths
from hokusai_action.validation.rules import Options
from tests.conftest import PROJECT

VERDICT_PAGE = (PROJECT / "docs" / "verdict.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def embedded_settings(tmp_path_factory: pytest.TempPathFactory) -> RegistrySettings:
    root = tmp_path_factory.mktemp("embedded")
    (root / ".git").mkdir()
    return resolve_settings(None, env={}, cwd=root)


@pytest.fixture(params=["server", "embedded"])
def registry(request, mlflow_server, embedded_settings) -> MlflowRegistry:
    if request.param == "server":
        return MlflowRegistry(resolve_settings(mlflow_server.uri, env={}))
    return MlflowRegistry(embedded_settings)


class Model:
    """A repository with one manifest; each `plan` rewrites it with a new value."""

    def __init__(self, root: Path, name: str, token: str) -> None:
        self.root, self.name, self.token = root, name, token
        (root / ".git").mkdir(exist_ok=True)
        self.trained = 0

    def plan(
        self, value: float, dataset: str = "{name: holdout, version: v1}", extra: str = "",
        *, retrained: bool = True,
    ):  # fmt: skip
        """A newly trained model (new weights) with this value, or the last one re-measured."""
        self.trained += retrained
        (self.root / "model.pkl").write_bytes(f"weights {self.trained}".encode())
        (self.root / "hokusai.yaml").write_text(
            f"version: 1\nmodel:\n  name: {self.name}\n  token_id: {self.token}\n"
            f"  path: model.pkl\nbenchmark:\n  metric: accuracy\n  value: {value}\n"
            f"  dataset: {dataset}\n{extra}",
            encoding="utf-8",
        )
        result, manifests = check_paths([self.root / "hokusai.yaml"], Options())
        assert result.valid, result.problems
        return plan(manifests[0], None)


@pytest.fixture
def model(tmp_path: Path, unique: str) -> Model:
    return Model(tmp_path, f"churn-{unique.lower()}", f"CHURN-{unique}")


def verdict(report: Report) -> Verdict:
    assert report.verdict is not None
    return report.verdict


def history_table(reports: list[Report]) -> list[str]:
    """The worked history of docs/verdict.md, from what `register` decided."""
    rows = ["| version | value | baseline | change | verdict |", "| --- | --- | --- | --- | --- |"]
    for r in reports:
        v = verdict(r)
        baseline = f"{number(v.baseline.value)} (v{v.baseline.version})" if v.baseline else "-"
        change = v.improvement_text() if v.baseline else "-"
        rows.append(
            f"| v{r.version} | {number(r.plan.value)} | {baseline} | {change} "
            f"| {OUTCOME_TEXT[v.outcome]} |"
        )
    return rows


def test_the_documented_worked_history_is_what_register_decides(model, registry):
    reports = [
        register(model.plan(value), registry, Decision())
        for value in (0.80, 0.815, 0.819, 0.79, 0.815, 0.826)
    ]
    assert [verdict(r).outcome for r in reports] == [
        Outcome.FIRST, Outcome.DELTAONE, Outcome.BELOW_THRESHOLD,
        Outcome.REGRESSION, Outcome.UNCHANGED, Outcome.DELTAONE,
    ]  # fmt: skip
    table = "\n".join(history_table(reports))
    assert table in VERDICT_PAGE, f"update the worked history in docs/verdict.md:\n{table}"
    last = reports[-1]
    assert any("best rewarded value on holdout v1" in note for note in last.notes)
    record = registry.get_version(model.name, 6)
    assert record is not None
    assert record.tags["baseline_version"] == "2"
    assert record.tags["delta"] == "0.011"  # as people write it, not 0.01100000000000001


def test_a_switch_of_dataset_is_a_new_benchmark_not_a_deltaone(model, registry):
    register(model.plan(0.80), registry, Decision())
    v2 = "{name: holdout, version: v2}"
    # a pull request cannot switch: only the owner's new revision does
    proposed = compare(model.plan(0.95, v2, retrained=False), registry, Decision())
    assert verdict(proposed).outcome is Outcome.BENCHMARK_MISMATCH
    set_record(registry, model.token, model.plan(0.95, v2, retrained=False), Changes())
    # the rewarded model measured on the new data opens it
    switched = register(model.plan(0.95, v2, retrained=False), registry, Decision())
    assert verdict(switched).outcome is Outcome.NEW_BENCHMARK
    assert not verdict(switched).achieved
    assert any("holdout v1" in n and "holdout v2" in n for n in switched.notes)
    assert registry.get_version(model.name, 2).tags["deltaone_achieved"] == "false"  # type: ignore[union-attr]
    assert registry.get_version(model.name, 2).tags["hokusai_benchmark_anchored"] == "true"  # type: ignore[union-attr]
    nxt = register(model.plan(0.962, v2), registry, Decision())
    assert verdict(nxt).outcome is Outcome.DELTAONE
    assert verdict(nxt).baseline.version == 2  # type: ignore[union-attr]


def test_dataset_hashes_are_computed_from_the_path_and_must_agree(model, registry):
    (model.root / "eval.csv").write_text("x,y\n1,0\n")
    digest = hashlib.sha256(b"x,y\n1,0\n").hexdigest()
    p = model.plan(0.80, "{name: holdout, version: v1, path: eval.csv}")
    assert p.benchmark.sha256 == digest
    register(p, registry, Decision())
    assert registry.get_version(model.name, 1).tags["hokusai_dataset_sha256"] == digest  # type: ignore[union-attr]
    (model.root / "eval.csv").write_text("x,y\n1,1\n")  # other data, same name and version
    other = register(model.plan(0.99, "{name: holdout, version: v1, path: eval.csv}"),
                     registry, Decision())  # fmt: skip
    assert verdict(other).outcome is Outcome.BENCHMARK_MISMATCH
    assert "dataset sha256" in verdict(other).reason
    with pytest.raises(HokusaiError, match="hashes to"):
        model.plan(0.99, f"{{name: holdout, version: v1, path: eval.csv, sha256: {digest}}}")


def test_register_ignores_a_pinned_baseline_and_says_so(model, registry):
    register(model.plan(0.80), registry, Decision())
    pinned = model.plan(0.805, extra="  baseline: {value: 0.5}\n")
    recorded = register(pinned, registry, Decision())
    assert verdict(recorded).outcome is Outcome.BELOW_THRESHOLD  # against 0.80, not 0.5
    assert not recorded.what_if
    assert any("benchmark.baseline in the manifest was ignored" in n for n in recorded.notes)
    assert registry.get_version(model.name, 2).tags["deltaone_achieved"] == "false"  # type: ignore[union-attr]


def test_compare_and_dry_run_use_a_pinned_baseline_as_a_labelled_what_if(model, registry):
    register(model.plan(0.80), registry, Decision())
    pinned = model.plan(0.81, extra="  baseline: {value: 0.5}\n")
    for report in (compare(pinned, registry, Decision()), dry_run(pinned, "x")):
        assert report.what_if
        assert verdict(report).outcome is Outcome.DELTAONE
        assert report_json(report)["what_if"] is True
        assert any("what-if: judged against a baseline pinned" in line
                   for line in report_text(report))  # fmt: skip


def test_require_significance_withholds_a_deltaone_the_interval_does_not_support(model, registry):
    samples = "{name: holdout, version: v1, samples: 5000}"
    strict = Decision(require_significance=True)
    register(model.plan(0.80, samples), registry, strict)  # shapes the benchmark of record
    small = compare(model.plan(0.815, samples), registry, strict)  # +1.5 pp on 5,000 samples
    assert verdict(small).outcome is Outcome.NOT_SIGNIFICANT
    assert "includes zero" in verdict(small).reason
    assert verdict(small).ci is not None
    assert verdict(small).ci.low < 0 < verdict(small).ci.high  # type: ignore[union-attr]
    big = compare(model.plan(0.83, samples), registry, strict)
    assert verdict(big).outcome is Outcome.DELTAONE
    # the record requires significance: a workflow that drops the option does not pay
    loose = compare(model.plan(0.815, samples), registry, Decision())
    assert verdict(loose).outcome is Outcome.NOT_SIGNIFICANT


def test_require_significance_without_sample_counts_is_no_deltaone(model, registry):
    register(model.plan(0.80), registry, Decision(require_significance=True))
    report = compare(model.plan(0.90), registry, Decision(require_significance=True))
    assert verdict(report).outcome is Outcome.NOT_SIGNIFICANT
    assert "sample count" in verdict(report).reason
    assert any("no DeltaOne: significance was required" in n for n in report.notes)


def test_versions_written_by_other_tools_count_when_first_or_marked(model, registry):
    """The seed's direct-MLflow script writes Hokusai's three tags and no verdict."""
    client = registry.client
    client.create_registered_model(model.name)
    run = client.create_run(registry.ensure_experiment(model.name))
    for value, deltaone in (("0.8", None), ("0.9", "false"), ("0.85", "true")):
        tags = {"hokusai_token_id": model.token, "benchmark_metric": "accuracy",
                "benchmark_value": value, "hokusai_dataset_name": "holdout",
                "hokusai_dataset_version": "v1"}  # fmt: skip
        if deltaone:
            tags["deltaone_achieved"] = deltaone
        source = f"{run.info.artifact_uri}/model"
        client.create_model_version(model.name, source, run_id=run.info.run_id, tags=tags)
    with pytest.raises(HokusaiError, match="no benchmark of record"):
        compare(model.plan(0.855), registry, Decision())  # nothing says what they measured
    set_record(registry, model.token, model.plan(0.855), Changes())  # the owner claims it
    report = compare(model.plan(0.855), registry, Decision())
    assert verdict(report).baseline.value == 0.85  # type: ignore[union-attr]
    assert verdict(report).outcome is Outcome.BELOW_THRESHOLD


def test_numbers_in_tags_and_json_are_rounded_to_12_significant_digits(model, registry):
    register(model.plan(0.8), registry, Decision())
    report = register(model.plan(0.815), registry, Decision())
    out = report_json(report)
    assert out["delta"] == 0.015
    assert out["improvement"] == 0.015
    assert re.fullmatch(r"[0-9.]+", registry.get_version(model.name, 2).tags["delta"])  # type: ignore[union-attr]
    assert registry.get_version(model.name, 2).tags["delta"] == "0.015"  # type: ignore[union-attr]
