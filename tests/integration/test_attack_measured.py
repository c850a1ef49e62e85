"""Attacks on measured values (issue 15): a payee who controls the model's output and the
manifest, a rival who writes the registry, and the audit (`verify`) that must catch them.

Real scikit-learn models on the breast-cancer data (tests/support/measuring.py), scored by the
same code that pays; every expected number is computed here with scikit-learn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hokusai_action.commands.benchmark import Changes, set_record
from hokusai_action.commands.verify import verify
from hokusai_action.measure import scoring
from hokusai_action.measure.measurement import Predictions
from hokusai_action.registry.deltaone import Outcome
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.register import Decision, register
from hokusai_action.registry.settings import RegistrySettings
from tests.support.measuring import Repo


@pytest.fixture
def registry(embedded_measuring: RegistrySettings) -> MlflowRegistry:
    return MlflowRegistry(embedded_measuring)


@pytest.fixture
def repo(
    tmp_path: Path, measured_models: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> Repo:
    monkeypatch.chdir(tmp_path)
    return Repo(tmp_path, measured_models)


@pytest.mark.parametrize("metric", ["f1_score", "precision", "recall"])
def test_a_label_the_data_never_holds_does_not_turn_a_binary_score_into_a_macro_average(metric):
    """Malignant (the rarer class) is the positive label; a weak stump finds it badly. The
    same stump, predicting `2` on one row it calls benign, used to make three classes, so the
    score became a macro average that counts the easy benign class: 12 points for nothing."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.tree import DecisionTreeClassifier

    frame = load_breast_cancer(as_frame=True).frame
    x, y = frame[["mean fractal dimension"]], 1 - frame["target"].to_numpy()  # malignant = 1
    stump = DecisionTreeClassifier(max_depth=1, random_state=0).fit(x.iloc[:400], y[:400])
    honest, truth = stump.predict(x.iloc[400:]), y[400:]
    gamed = honest.copy()
    gamed[np.flatnonzero(honest == 0)[0]] = 2  # a label the data never holds
    fair = scoring.score(metric, truth, Predictions(honest, None, None)).value
    played = scoring.score(metric, truth, Predictions(gamed, None, None)).value
    assert played <= fair  # one more wrong row never scores better
    # the binary score of the positive class, as scikit-learn computes it on the same rows
    from sklearn import metrics

    function = {"f1_score": metrics.f1_score, "precision": metrics.precision_score,
                "recall": metrics.recall_score}[metric]  # fmt: skip
    assert played == pytest.approx(float(function(truth == 1, gamed == 1, zero_division=0)))


def test_a_holdout_kept_as_an_artifact_still_decides_significance_by_the_paired_test(
    repo, registry
):
    """The paired test read the labels again from the path the value was measured on: for a
    holdout downloaded from the registry, a folder removed once measured. An honest DeltaOne
    then failed to register at all."""
    register(repo.plan("stump"), registry, Decision(require_significance=True))
    run = registry.client.create_run(registry.ensure_experiment("holdouts")).info.run_id
    registry.client.log_artifact(run, str(repo.root / "data" / "holdout.csv"))
    set_record(registry, repo.token, None, Changes(data_artifact=f"runs:/{run}/holdout.csv"))
    (repo.root / "data" / "holdout.csv").unlink()  # contributors never see it
    better = register(
        repo.plan("logistic", dataset="{name: holdout, target: label}"), registry, Decision()
    )
    assert better.verdict is not None
    assert better.verdict.outcome is Outcome.DELTAONE
    assert any("paired test" in n for n in better.notes)


def test_verify_upholds_a_deltaone_that_the_paired_test_decided(repo, registry):
    """Under --require-significance with no sample count, the paired test on the stored
    predictions is what shows significance at registration. `verify` judged again without it,
    found `not_significant`, and told the payer not to pay an honest DeltaOne."""
    register(repo.plan("stump"), registry, Decision(require_significance=True))
    better = register(repo.plan("logistic"), registry, Decision())
    assert better.verdict is not None
    assert better.verdict.outcome is Outcome.DELTAONE
    result = verify(registry, repo.token, root=repo.root)
    assert [c.what for c in result.checks if not c.agrees] == []
    assert result.verdict_now == "deltaone"
    assert result.agrees


@pytest.fixture(scope="module")
def dummy(tmp_path_factory: pytest.TempPathFactory, measured_models: dict[str, object]) -> Path:
    """A model worse than the stump: the most frequent class, whatever the row."""
    import mlflow.sklearn
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    holdout = pd.read_csv(measured_models["holdout"])  # type: ignore[arg-type]
    model = DummyClassifier(strategy="most_frequent").fit(holdout.drop(columns=["label"]),
                                                          holdout["label"])  # fmt: skip
    folder = tmp_path_factory.mktemp("attack-dummy") / "dummy"
    mlflow.sklearn.save_model(model, folder, serialization_format="cloudpickle",
                              pip_requirements=["scikit-learn"])  # fmt: skip
    return folder


def test_verify_catches_a_baseline_tag_pointed_at_a_worse_unrewarded_version(repo, registry, dummy):
    """Someone who may write tags marks an unpaid version a DeltaOne over a version that was
    never rewarded (the worst one): every value re-measures as recorded, and verify agreed."""
    repo.trained["dummy"] = dummy
    register(repo.plan("logistic"), registry, Decision())  # v1: the high-water mark
    register(repo.plan("dummy"), registry, Decision())  # v2: regressed, never a baseline
    stump = register(repo.plan("stump"), registry, Decision())  # v3: below v1, not paid
    assert stump.verdict is not None
    assert stump.verdict.outcome is not Outcome.DELTAONE
    registry.set_version_tags(repo.name, 3, {"hokusai_verdict": "deltaone",
                                             "baseline_version": "2"})  # fmt: skip
    result = verify(registry, repo.token, root=repo.root)
    assert result.version == 3
    assert not result.agrees
    failed = [c for c in result.checks if not c.agrees]
    assert [(c.recorded, c.found) for c in failed] == [
        (f"{repo.name} v2", f"{repo.name} v1")  # the tag's, and the high-water mark
    ]


def test_verify_catches_a_record_revision_tag_pointed_at_a_looser_revision(repo, registry):
    """The owner raised the threshold to 50 points; a version below it is retagged as a
    DeltaOne judged by revision 1 (1 point): every value re-measures as recorded."""
    register(repo.plan("stump"), registry, Decision())  # revision 1: 1 point
    set_record(registry, repo.token, None, Changes(threshold="0.5"))  # revision 2
    below = register(repo.plan("logistic"), registry, Decision())
    assert below.verdict is not None
    assert below.verdict.outcome is Outcome.BELOW_THRESHOLD
    registry.set_version_tags(repo.name, 2, {"hokusai_verdict": "deltaone",
                                             "hokusai_record_revision": "1"})  # fmt: skip
    result = verify(registry, repo.token, root=repo.root)
    assert result.version == 2
    assert not result.agrees
    failed = [c.what for c in result.checks if not c.agrees]
    assert failed == [f"{repo.name} v2 record revision (tag)"]
    assert result.revision == 2  # judged by the revision in force: not a DeltaOne
    assert result.verdict_now == "improved_below_threshold"


def test_another_label_column_is_another_benchmark_with_its_own_high_water_mark(repo, registry):
    """`benchmark set --target` says it opens a new benchmark, but the high-water mark did not
    know the label column: values scored against another (perhaps easier) column were judged
    against the old mark, and a model with a byte changed could be paid on the new column."""
    from hokusai_action.registry import baseline
    from hokusai_action.registry.judge import benchmark_of
    from hokusai_action.validation.metrics import Direction

    register(repo.plan("stump"), registry, Decision())
    done = set_record(registry, repo.token, None, Changes(target="mean radius"))
    assert any("new benchmark" in n for n in done.notes)  # as `benchmark set` says
    versions = registry.versions_for_token(repo.token)
    before = baseline.choose(versions, benchmark_of(done.record), Direction.HIGHER)
    assert before.baseline is None
    assert before.new_benchmark
    assert not before.anchors or before.notes  # opened only by the rewarded model, measured
