"""Measured, not claimed (issue 15): the value that pays is computed by hokusai-action.

Real scikit-learn models in MLflow's format, scored on a real holdout file; every expected
number is computed here with scikit-learn on the same rows, never written by hand.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from hokusai_action.commands.benchmark import Changes, set_record
from hokusai_action.commands.verify import verify
from hokusai_action.errors import HokusaiError
from hokusai_action.github.comment import comment_body
from hokusai_action.measure import rounded
from hokusai_action.registry.deltaone import Outcome
from hokusai_action.registry.measured import Measuring, relayed_measurements
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.output import reports_json
from hokusai_action.registry.register import Decision, compare, register
from hokusai_action.registry.settings import RegistrySettings
from tests.support.measuring import TARGET, Repo


@pytest.fixture
def registry(embedded_measuring: RegistrySettings) -> MlflowRegistry:
    return MlflowRegistry(embedded_measuring)


@pytest.fixture
def repo(
    tmp_path: Path, measured_models: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> Repo:
    monkeypatch.chdir(tmp_path)
    return Repo(tmp_path, measured_models)


def test_a_true_claim_registers_as_measured_with_both_numbers_recorded(repo, registry):
    truth = repo.accuracy("stump")
    report = register(repo.plan("stump", repr(truth)), registry, Decision())
    assert report.verdict is not None
    assert report.verdict.outcome is Outcome.FIRST
    tags = registry.get_version(repo.name, 1).tags  # type: ignore[union-attr]
    assert tags["hokusai_benchmark_measured"] == "true"
    assert Decimal(tags["benchmark_value"]) == Decimal(repr(rounded(truth)))
    assert tags["hokusai_benchmark_claimed_value"] == repr(truth)
    assert tags["hokusai_measured_rows"] == "169"
    assert "scikit-learn" in tags["hokusai_measure_packages"]
    body = comment_body(report, "register")
    assert "measured by hokusai-action on holdout (169 rows)" in body


def test_an_inflated_claim_is_refused_naming_both_numbers_and_nothing_is_registered(repo, registry):
    truth = repo.accuracy("stump")
    with pytest.raises(HokusaiError, match="value-mismatch") as e:
        register(repo.plan("stump", "0.99"), registry, Decision())
    assert "0.99" in str(e.value)
    assert repr(truth)[:8] in str(e.value)
    assert registry.versions_of_model(repo.name) == []


def test_a_claim_within_the_tolerance_is_accepted_and_judged_as_measured(repo, registry):
    truth = repo.accuracy("stump")
    near = Decimal(repr(truth)) + Decimal("0.0004")
    loose = Decimal(Measuring(tolerance="0.001").tolerance)
    decision = Decision(measuring=Measuring(tolerance=str(loose)))
    report = register(repo.plan("stump", str(near)), registry, decision)
    assert report.plan.value == rounded(truth)  # the measurement is judged, not the claim
    with pytest.raises(HokusaiError, match="value-mismatch") as e:
        compare(repo.plan("stump", str(near)), registry, Decision())  # default 1e-6
    assert "looks rounded" not in str(e.value)
    honest_but_rounded = f"{truth:.4f}"  # as a script that rounds for display writes it
    assert Decimal(honest_but_rounded) != Decimal(repr(truth))
    with pytest.raises(HokusaiError, match="looks rounded to 4 decimal"):
        compare(repo.plan("stump", honest_but_rounded), registry, Decision())


def test_a_manifest_without_a_value_is_measured_and_registered_once(repo, registry):
    first = register(repo.plan("stump"), registry, Decision())
    assert first.plan.value == rounded(repo.accuracy("stump"))
    again = register(repo.plan("stump"), registry, Decision())
    assert again.status == "already_registered"
    assert again.version == first.version
    assert first.plan.registration_key == again.plan.registration_key


def test_the_first_registration_records_the_target_and_requires_measurement(repo, registry):
    register(repo.plan("stump"), registry, Decision())
    rec = registry.benchmark_record(repo.token)
    assert rec is not None
    assert (rec.measurement, rec.target, rec.dataset.path) == ("required", TARGET,
                                                               "data/holdout.csv")  # fmt: skip


def test_a_better_model_measured_is_a_deltaone_and_its_claim_is_not_needed(repo, registry):
    register(repo.plan("stump"), registry, Decision())
    better = register(repo.plan("logistic"), registry, Decision())
    assert better.verdict is not None
    assert better.verdict.outcome is Outcome.DELTAONE
    assert better.plan.value == rounded(repo.accuracy("logistic"))


def test_a_pull_request_cannot_choose_another_label_column(repo, registry):
    register(repo.plan("stump"), registry, Decision())
    # `mean radius` as the label would score another task; the record's target is measured
    report = compare(repo.plan("logistic", target="'mean radius'"), registry, Decision())
    assert report.plan.value == rounded(repo.accuracy("logistic"))
    assert any("target `mean radius`" in n for n in report.notes)


def test_required_measurement_never_falls_back_to_the_claim_when_the_data_changed(repo, registry):
    register(repo.plan("stump"), registry, Decision())
    data = repo.root / "data" / "holdout.csv"
    data.write_text(data.read_text(encoding="utf-8").replace(",1\n", ",0\n", 5), encoding="utf-8")
    p = repo.plan("logistic")  # no claim: only a measurement can give the value
    with pytest.raises(HokusaiError, match="could not be") as e:
        register(p, registry, Decision())
    assert "sha256" in str(e.value)
    assert len(registry.versions_of_model(repo.name)) == 1


def test_claimed_and_measured_values_never_share_a_high_water_mark(repo, registry, tmp_path):
    # a token whose values were claimed: a claim of 0.999 set the bar
    claimed = repo.plan("stump", "0.999", dataset="{name: holdout, path: data/holdout.csv}")
    register(claimed, registry, Decision())
    assert registry.benchmark_record(repo.token).measurement == "off"  # type: ignore[union-attr]
    # its owner turns measurement on: a new benchmark, opened by the rewarded model, measured
    set_record(registry, repo.token, None, Changes(target=TARGET, measurement="required"))
    other = compare(repo.plan("logistic"), registry, Decision())
    assert other.verdict is not None
    assert other.verdict.outcome is Outcome.NEW_BENCHMARK
    assert not other.verdict.achieved
    assert any("does not open" in n for n in other.notes)  # not the rewarded model
    opened = register(repo.plan("stump"), registry, Decision())
    assert opened.verdict is not None
    assert opened.verdict.outcome is Outcome.NEW_BENCHMARK
    assert opened.verdict.baseline is None  # the claimed 0.999 is no baseline
    better = register(repo.plan("logistic"), registry, Decision())
    assert better.verdict is not None
    assert better.verdict.outcome is Outcome.DELTAONE
    assert better.verdict.baseline.value == rounded(repo.accuracy("stump"))  # type: ignore[union-attr]


HOSTILE = """
import urllib.request
import mlflow.models
import mlflow.pyfunc

class Hostile(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        urllib.request.urlopen("URL", timeout=5).read()  # says "I was loaded" to the test

    def predict(self, context, model_input, params=None):
        return [1] * len(model_input)

mlflow.models.set_model(Hostile())
"""


@pytest.mark.filterwarnings("ignore:.*type hints:UserWarning")  # the hostile model's own
def test_under_workflow_run_a_pull_requests_model_is_never_loaded(
    repo, registry, tmp_path, httpserver
):
    """The model tells a loopback server when it is loaded: the only way out of its sandbox
    (Landlock keeps it from writing anywhere but its own work folder)."""
    register(repo.plan("stump"), registry, Decision())
    import mlflow.pyfunc

    httpserver.expect_request("/loaded").respond_with_data("ok")
    code = tmp_path / "hostile_model.py"
    code.write_text(HOSTILE.replace("URL", httpserver.url_for("/loaded")), encoding="utf-8")
    hostile = tmp_path / "hostile"
    mlflow.pyfunc.save_model(hostile, python_model=code, pip_requirements=[])
    httpserver.clear_log()  # MLflow may run the code once while saving, to check it
    repo.trained["hostile"] = hostile
    privileged = Decision(measuring=Measuring(event="workflow_run"))
    shown = compare(repo.plan("hostile", "0.5"), registry, privileged)
    assert httpserver.log == []
    assert shown.plan.measured is None
    assert any("claimed, not measured" in n and "workflow_run" in n for n in shown.notes)
    for event in ("workflow_run", "pull_request_target"):
        refused = Decision(measuring=Measuring(event=event))
        with pytest.raises(HokusaiError, match=f"never loaded under `{event}`"):
            compare(repo.plan("hostile"), registry, refused)
    assert httpserver.log == []
    loaded = compare(repo.plan("hostile"), registry, Decision())  # a pull_request run: loads
    assert len(httpserver.log) == 1
    assert loaded.plan.value == rounded(
        float((pd.read_csv(repo.root / "data" / "holdout.csv")[TARGET] == 1).mean())
    )


def test_a_holdout_kept_as_a_registry_artifact_is_measured_without_being_in_the_repository(
    repo, registry
):
    register(repo.plan("stump"), registry, Decision())
    client = registry.client
    run = client.create_run(registry.ensure_experiment("holdouts")).info.run_id
    client.log_artifact(run, str(repo.root / "data" / "holdout.csv"))
    done = set_record(registry, repo.token, None,
                      Changes(data_artifact=f"runs:/{run}/holdout.csv"))  # fmt: skip
    assert done.record.dataset.artifact == f"runs:/{run}/holdout.csv"
    assert "new benchmark" not in " ".join(done.notes)  # the same data, by its hash
    (repo.root / "data" / "holdout.csv").unlink()  # contributors never see it
    better = register(
        repo.plan("logistic", dataset="{name: holdout, target: label}"), registry, Decision()
    )
    assert better.verdict is not None
    assert better.verdict.outcome is Outcome.DELTAONE
    assert better.plan.value == rounded(repo.accuracy("logistic"))
    audit = verify(registry, repo.token, root=repo.root)  # the payer reads the artifact too
    assert audit.agrees, audit.checks
    assert audit.verdict_now == "deltaone"


def test_under_workflow_run_the_pull_requests_own_measurement_is_shown_unverified_never_recorded(
    repo, registry
):
    register(repo.plan("stump"), registry, Decision())
    own_run = compare(repo.plan("logistic"), registry, Decision())  # part 1: pull_request
    relayed = relayed_measurements(json.dumps(reports_json([own_run])))
    assert len(relayed) == 1
    privileged = Decision(measuring=Measuring(event="workflow_run", relayed=relayed))
    shown = compare(repo.plan("logistic"), registry, privileged)  # part 2: no model loaded
    assert shown.plan.measured is not None
    assert shown.plan.measured.unverified
    assert shown.plan.value == rounded(repo.accuracy("logistic"))
    assert "measured in the pull request's own run" in comment_body(shown, "compare")
    assert "not verified" in comment_body(shown, "compare")
    with pytest.raises(HokusaiError, match="did not measure it"):
        register(repo.plan("logistic"), registry, privileged)  # never recorded
    # the relayed number is for those model files only: other files get nothing from it
    with pytest.raises(HokusaiError, match="never loaded under `workflow_run`"):
        compare(repo.plan("stump"), registry, privileged)


@pytest.mark.parametrize(
    "text",
    ["", "[]", '{"results": 5}', '{"results": [{"measured": {"value": NaN, "rows": 1}}]}',
     '{"results": [{"manifest": "m", "model_sha256": "a", "metric": "accuracy", "measured": '
     '{"value": 0.9, "rows": true, "dataset_sha256": "b", "dataset": "d"}}]}',
     '{"results": [{"manifest": "m", "model_sha256": "a", "metric": "accuracy", "measured": '
     '{"value": 0.9, "rows": 5, "dataset_sha256": "b", "dataset": "d", "unverified": true}}]}'],
    ids=["empty", "a-list", "not-a-list", "nan", "bool-rows", "already-relayed"],
)  # fmt: skip
def test_a_hostile_results_file_relays_nothing(text):
    assert relayed_measurements(text) == ()


def test_required_significance_is_decided_by_a_paired_test_on_the_stored_predictions(
    repo, registry, measured_models
):
    from statsmodels.stats.contingency_tables import mcnemar

    register(repo.plan("stump"), registry, Decision(require_significance=True))
    better = register(repo.plan("logistic"), registry, Decision())
    assert better.verdict is not None
    # no sample counts anywhere: without the paired test this would be "not significant"
    said = [n for n in better.notes if "paired test" in n]
    assert said
    assert "mcnemar" in said[0]
    import mlflow.sklearn

    holdout = pd.read_csv(measured_models["holdout"])
    x, y = holdout.drop(columns=[TARGET]), holdout[TARGET].to_numpy()
    old = mlflow.sklearn.load_model(str(measured_models["stump"])).predict(x) == y
    new = mlflow.sklearn.load_model(str(measured_models["logistic"])).predict(x) == y
    table = [[int((old & new).sum()), int((old & ~new).sum())],
             [int((~old & new).sum()), int((~old & ~new).sum())]]  # fmt: skip
    # clearly significant by statsmodels' exact test, so by the (less conservative) mid-p too
    assert mcnemar(table, exact=True).pvalue < 0.01
    assert table[1][0] > table[0][1]
    assert better.verdict.outcome is Outcome.DELTAONE


def test_a_relayed_measurement_under_required_significance_is_judged_without_pairs(repo, registry):
    """It carries no predictions: the paired test is skipped, not failed on."""
    register(repo.plan("stump"), registry, Decision(require_significance=True))
    own_run = compare(repo.plan("logistic"), registry, Decision())
    relayed = relayed_measurements(json.dumps(reports_json([own_run])))
    privileged = Decision(measuring=Measuring(event="workflow_run", relayed=relayed))
    shown = compare(repo.plan("logistic"), registry, privileged)
    assert shown.verdict is not None
    assert not any("paired test" in n for n in shown.notes)
    assert shown.plan.measured is not None
    assert shown.plan.measured.unverified
