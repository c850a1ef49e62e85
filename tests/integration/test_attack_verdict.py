"""Attacks on the DeltaOne verdict of record (issue 8), from what a contributor controls.

Each test is a way to be paid a DeltaOne that should not be paid (or to be told one was
achieved when it was not recorded). They run against the embedded registry, or on the pure
functions, and fail while the attack works.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from hokusai_action.commands.benchmark import Changes, set_record
from hokusai_action.errors import HokusaiError
from hokusai_action.github.action import RunResult, _outputs
from hokusai_action.registry.deltaone import Baseline, Outcome, Verdict, decide
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.plan import Plan, plan
from hokusai_action.registry.register import Decision, compare, register
from hokusai_action.registry.results import Report, Status
from hokusai_action.registry.settings import RegistrySettings, resolve_settings
from hokusai_action.validation import metrics
from hokusai_action.validation.checker import check_paths
from hokusai_action.validation.rules import Options

ACCURACY = metrics.lookup("accuracy").metric
R2 = metrics.lookup("r2_score").metric
assert ACCURACY is not None
assert R2 is not None

HASH_X = "a" * 64
HASH_Y = "b" * 64
HASH_Z = "c" * 64


@pytest.fixture(scope="module")
def embedded_settings(tmp_path_factory: pytest.TempPathFactory) -> RegistrySettings:
    root = tmp_path_factory.mktemp("embedded-attack")
    (root / ".git").mkdir()
    return resolve_settings(None, env={}, cwd=root)


@pytest.fixture
def registry(embedded_settings: RegistrySettings) -> MlflowRegistry:
    return MlflowRegistry(embedded_settings)


class Contributor:
    """A repository with one manifest that the contributor rewrites at will."""

    def __init__(self, root: Path) -> None:
        suffix = uuid.uuid4().hex[:8].upper()
        self.root, self.name, self.token = root, f"attack-{suffix.lower()}", f"ATK-{suffix}"
        (root / ".git").mkdir(exist_ok=True)
        self.trained = 0

    def plan(
        self,
        value: float,
        dataset: str | None = "{name: holdout, version: v1}",
        metric: str = "accuracy",
        extra: str = "",
    ) -> Plan:
        """A newly trained model (new weights) with this value."""
        self.trained += 1
        (self.root / "model.pkl").write_bytes(f"weights {self.trained}".encode())
        text = (
            f"version: 1\nmodel:\n  name: {self.name}\n  token_id: {self.token}\n"
            f"  path: model.pkl\nbenchmark:\n  metric: {metric}\n  value: {value}\n"
        )
        if dataset is not None:
            text += f"  dataset: {dataset}\n"
        (self.root / "hokusai.yaml").write_text(text + extra, encoding="utf-8")
        result, manifests = check_paths([self.root / "hokusai.yaml"], Options())
        assert result.valid, result.problems
        return plan(manifests[0], None)


@pytest.fixture
def contributor(tmp_path: Path) -> Contributor:
    return Contributor(tmp_path)


def verdict(report: Report) -> Verdict:
    assert report.verdict is not None
    return report.verdict


def write_foreign(registry: MlflowRegistry, who: Contributor, tags: dict[str, str]) -> None:
    """A version written by another tool (the SDK, the seed's direct-MLflow script)."""
    client = registry.client
    if not registry.model_exists(who.name):
        client.create_registered_model(who.name)
    run = client.create_run(registry.ensure_experiment(who.name))
    client.create_model_version(
        who.name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id,
        tags={"hokusai_token_id": who.token, **tags},
    )  # fmt: skip


# -- 1. a made-up dataset hash re-earns an improvement already paid ----------------------------
def test_a_new_dataset_hash_is_not_paid_again_for_an_improvement_already_rewarded(
    contributor, registry
):
    """The comparability of hashes is not transitive: a version without a hash agrees with
    every hash, a hashed one only with its own. So the best rewarded value behind hash X is
    invisible to a plan with hash Y, which is judged against the old unhashed version."""
    assert register(contributor.plan(0.80), registry, Decision()).verdict.outcome is Outcome.FIRST  # type: ignore[union-attr]
    hashed = "{name: holdout, version: v1, sha256: %s}"
    paid = register(contributor.plan(0.85, hashed % HASH_X), registry, Decision())
    # the record (holdout v1, no hash) decides what is measured: a hash changes nothing
    assert verdict(paid).outcome is Outcome.DELTAONE
    for digest in (HASH_Y, HASH_Z):  # any 64 hex digits pass the schema without a path
        again = register(contributor.plan(0.85, hashed % digest), registry, Decision())
        assert not verdict(again).achieved, (
            f"the same 0.85 on holdout v1 was paid again against "
            f"{verdict(again).baseline}: {verdict(again).improvement_text()}"
        )


# -- 2. a custom metric redeclared picks the cheaper rule -------------------------------------
CUSTOM = "custom_metrics:\n  churn_score: {{direction: {direction}, min: 0, max: {maximum}}}\n"


def test_redeclaring_a_custom_metrics_range_does_not_switch_to_a_cheaper_rule(
    contributor, registry
):
    """Bounded by [0, 1], churn_score is judged in points: 0.10 -> 0.101 is +0.1 pp. The
    contributor widens `max` in the next manifest and the same value is judged relatively,
    +1.00% -> DeltaOne. The range is not part of the benchmark, and no rule is pinned."""
    bounded = CUSTOM.format(direction="higher", maximum=1)
    widened = CUSTOM.format(direction="higher", maximum=10)
    register(contributor.plan(0.10, metric="churn_score", extra=bounded), registry, Decision())
    honest = compare(contributor.plan(0.101, metric="churn_score", extra=bounded), registry,
                     Decision())  # fmt: skip
    assert verdict(honest).outcome is Outcome.BELOW_THRESHOLD
    gamed = register(contributor.plan(0.101, metric="churn_score", extra=widened), registry,
                     Decision())  # fmt: skip
    assert not verdict(gamed).achieved, (
        f"+0.1 pp paid as {verdict(gamed).improvement_text()} under {verdict(gamed).rule}"
    )


def test_flipping_a_custom_metrics_direction_does_not_pay_for_worse_models(contributor, registry):
    """churn_score is registered as higher-is-better. The contributor declares it
    lower-is-better: a new benchmark, then every worse model is an 'improvement'."""
    higher = CUSTOM.format(direction="higher", maximum=1)
    lower = CUSTOM.format(direction="lower", maximum=1)
    register(contributor.plan(0.80, metric="churn_score", extra=higher), registry, Decision())
    register(contributor.plan(0.70, metric="churn_score", extra=lower), registry, Decision())
    worse = register(contributor.plan(0.60, metric="churn_score", extra=lower), registry,
                     Decision())  # fmt: skip
    assert not verdict(worse).achieved, (
        "0.80 -> 0.70 -> 0.60 on the token's higher-is-better churn_score paid a DeltaOne"
    )


def test_a_declared_direction_is_not_assumed_for_versions_that_never_recorded_one(
    contributor, registry
):
    """The SDK wrote reply_rate 0.20, then 0.30 with deltaone_achieved=true: higher is
    better, and 0.30 was paid. It records no direction, and an unknown direction 'agrees'
    with any. The contributor declares reply_rate lower-is-better and registers 0.19, 11
    points below the paid 0.30: judged against the 0.20, it is a DeltaOne."""
    tags = {"benchmark_metric": "reply_rate", "hokusai_dataset_name": "holdout",
            "hokusai_dataset_version": "v1"}  # fmt: skip
    write_foreign(registry, contributor, {**tags, "benchmark_value": "0.20"})
    write_foreign(registry, contributor,
                  {**tags, "benchmark_value": "0.30", "deltaone_achieved": "true"})  # fmt: skip
    lower = "custom_metrics:\n  reply_rate: {direction: lower, min: 0, max: 1}\n"
    higher = "custom_metrics:\n  reply_rate: {direction: higher, min: 0, max: 1}\n"
    with pytest.raises(HokusaiError, match="no benchmark of record"):
        compare(contributor.plan(0.19, metric="reply_rate", extra=lower), registry, Decision())
    owner = contributor.plan(0.30, metric="reply_rate", extra=higher)
    set_record(registry, contributor.token, owner, Changes())
    report = compare(contributor.plan(0.19, metric="reply_rate", extra=lower), registry,
                     Decision())  # fmt: skip
    assert not verdict(report).achieved, (
        f"0.19 paid against {verdict(report).baseline}; the token was paid for 0.30"
    )


# -- 3. a renamed / dropped dataset re-earns the same improvement -----------------------------
def test_dropping_the_dataset_block_does_not_let_the_same_improvement_be_paid_twice(
    contributor, registry
):
    """The issue's promise: 'Nothing can be paid twice.' A contributor who removes the
    `dataset` block (or renames it) opens a fresh benchmark at a low value, then climbs it
    again to a value the token was already paid for on holdout v1."""
    register(contributor.plan(0.80), registry, Decision())
    assert verdict(register(contributor.plan(0.85), registry, Decision())).achieved
    opened = register(contributor.plan(0.80, dataset=None), registry, Decision())
    assert verdict(opened).outcome is Outcome.BENCHMARK_MISMATCH
    again = register(contributor.plan(0.85, dataset=None), registry, Decision())
    assert not verdict(again).achieved, "the same 0.80 -> 0.85 was paid a second time"


# -- 4. an alias written by another tool hides the high-water mark ----------------------------
def test_versions_tagged_with_a_metric_alias_by_other_tools_still_set_the_bar(
    contributor, registry
):
    """The SDK writes `benchmark_metric` as the user typed it (`acc`, `Accuracy`). Those
    versions are not compared with `accuracy`, so the token's paid 0.90 is forgotten."""
    dataset = {"hokusai_dataset_name": "holdout", "hokusai_dataset_version": "v1"}
    write_foreign(registry, contributor, {"benchmark_metric": "acc", "benchmark_value": "0.80",
                                          **dataset})  # fmt: skip
    write_foreign(registry, contributor, {"benchmark_metric": "acc", "benchmark_value": "0.90",
                                          "deltaone_achieved": "true", **dataset})  # fmt: skip
    set_record(registry, contributor.token, contributor.plan(0.85), Changes())
    register(contributor.plan(0.85), registry, Decision())
    report = register(contributor.plan(0.86), registry, Decision())
    assert not verdict(report).achieved, (
        f"0.86 paid against {verdict(report).baseline}, below the token's rewarded 0.90"
    )


@pytest.mark.parametrize(
    "marks",
    [{"deltaone_achieved": "True"}, {"deltaone_achieved": "true", "hokusai_verdict": "DeltaOne"}],
    ids=["python-bool-text", "odd-verdict-tag"],
)
def test_a_rewarded_version_written_by_another_tool_with_odd_tags_still_sets_the_bar(
    contributor, registry, marks
):
    """`mlflow.set_tag("deltaone_achieved", True)` stores `True`; Hokusai's platform reads
    such tags with `.lower() == "true"`. Here only the exact `true` counts, and a verdict tag
    of any unknown value overrides it, so the paid 0.90 is ignored and 0.85 is paid again."""
    tags = {"benchmark_metric": "accuracy", "hokusai_dataset_name": "holdout",
            "hokusai_dataset_version": "v1"}  # fmt: skip
    write_foreign(registry, contributor, {**tags, "benchmark_value": "0.80"})
    write_foreign(registry, contributor, {**tags, "benchmark_value": "0.90", **marks})
    set_record(registry, contributor.token, contributor.plan(0.85), Changes())
    report = compare(contributor.plan(0.85), registry, Decision())
    assert not verdict(report).achieved, (
        f"0.85 paid against {verdict(report).baseline}; the token was paid for 0.90"
    )


# -- 5. a re-run reports (and aliases) a DeltaOne the registry never recorded -----------------
def test_rerunning_a_registration_with_other_options_does_not_turn_it_into_a_deltaone(
    contributor, registry
):
    register(contributor.plan(0.80), registry, Decision())
    p = contributor.plan(0.806)
    first = register(p, registry, Decision())
    assert verdict(first).outcome is Outcome.BELOW_THRESHOLD
    rerun = register(p, registry, Decision(threshold=0.005))
    assert rerun.status is Status.ALREADY_REGISTERED
    record = registry.get_version(contributor.name, 2)
    assert record is not None
    assert record.tags["deltaone_achieved"] == "false"
    assert "challenger" not in record.aliases, "a below-threshold version became challenger"
    assert not verdict(rerun).achieved, "the re-run reports a DeltaOne the registry never recorded"
    assert _outputs(RunResult(reports=[rerun]), "r.json")["deltaone"] == "false"


def test_rerunning_without_require_significance_does_not_pay_a_withheld_deltaone(
    contributor, registry
):
    samples = "{name: holdout, version: v1, samples: 5000}"
    register(contributor.plan(0.80, samples), registry, Decision(require_significance=True))
    p = contributor.plan(0.815, samples)
    strict = register(p, registry, Decision(require_significance=True))
    assert verdict(strict).outcome is Outcome.NOT_SIGNIFICANT
    rerun = register(p, registry, Decision())  # e.g. the workflow input was dropped later
    assert _outputs(RunResult(reports=[rerun]), "r.json")["deltaone"] == "false"


def test_a_push_that_registers_nothing_new_does_not_emit_deltaone_again(contributor, registry):
    """Every push to main re-runs `register`; an unchanged manifest is already registered.
    The action still outputs deltaone=true, so a payout step keyed on it pays per push."""
    register(contributor.plan(0.80), registry, Decision())
    p = contributor.plan(0.82)
    assert verdict(register(p, registry, Decision())).achieved
    again = register(p, registry, Decision())
    assert again.status is Status.ALREADY_REGISTERED
    assert _outputs(RunResult(reports=[again]), "r.json")["deltaone"] == "false"


def test_claiming_more_samples_on_the_same_dataset_does_not_make_a_gain_significant(
    contributor, registry
):
    """holdout v1 has 5,000 examples (the baseline says so). The new manifest claims
    1,000,000 on the same name and version: the interval narrows to the baseline's side alone
    and +1.5 pp becomes 'significant'. The same test set cannot have two sizes."""
    strict = Decision(require_significance=True)
    register(contributor.plan(0.80, "{name: holdout, version: v1, samples: 5000}"), registry,
             strict)  # fmt: skip
    honest = compare(contributor.plan(0.815, "{name: holdout, version: v1, samples: 5000}"),
                     registry, strict)  # fmt: skip
    assert verdict(honest).outcome is Outcome.NOT_SIGNIFICANT
    inflated = compare(
        contributor.plan(0.815, "{name: holdout, version: v1, samples: 1000000}"), registry, strict
    )
    assert not verdict(inflated).achieved, f"significant by claim: {verdict(inflated).ci}"


# -- 6. the action's deltaone output for a what-if --------------------------------------------
def test_the_action_output_is_not_deltaone_for_a_what_if(contributor, registry):
    """compare uses a pinned baseline as a what-if, labelled in text, JSON and the comment;
    the action's `deltaone` output says plain `true`."""
    register(contributor.plan(0.80), registry, Decision())
    report = compare(contributor.plan(0.805, extra="  baseline: {value: 0.5}\n"), registry,
                     Decision())  # fmt: skip
    assert report.what_if
    assert _outputs(RunResult(reports=[report]), "r.json")["deltaone"] == "false"


# -- 7. numbers at the edges (pure) ------------------------------------------------------------
def test_a_zero_baseline_under_the_relative_rule_does_not_pay_for_float_noise():
    """r2_score (relative by default) with a first registration at 0.0: any gain, even
    1e-12, is an infinite improvement and a DeltaOne."""
    v = decide(R2, 1e-12, Baseline(0.0, 1))
    assert not v.achieved, f"1e-12 over 0.0 on r2_score: {v.improvement_text()}"


def test_a_value_short_of_one_point_is_not_a_deltaone():
    """Values are rounded to 12 significant digits before the comparison, so the 1e-9
    tolerance no longer absorbs float noise: it only pays values that fall short."""
    v = decide(ACCURACY, 0.8099999995, Baseline(0.80, 1))
    assert v.delta is not None
    assert v.delta < 0.01
    assert not v.achieved, f"delta {v.delta!r} < 0.01 was paid"


def test_a_tiny_threshold_does_not_pay_an_unchanged_value():
    """--deltaone-threshold accepts any value in (0, 1]; at or below the 1e-9 tolerance an
    unchanged value is a DeltaOne."""
    v = decide(ACCURACY, 0.80, Baseline(0.80, 1), threshold=1e-10)
    assert v.outcome is Outcome.UNCHANGED
