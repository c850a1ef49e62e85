"""Attacks on the benchmark of record (issue 14), by a contributor who writes a pull request's
manifest, model and metrics files and owns an account on the shared registry (READ on others'
models, MANAGE on the models it creates), and by a rival denying an honest reward.

Each test reproduces one attack at the level where it happens, with the embedded registry; an
attack still open is marked xfail (strict), with why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hokusai_action.commands.benchmark import Changes, set_record
from hokusai_action.errors import HokusaiError
from hokusai_action.github.action import RunResult, _outputs
from hokusai_action.registry import reporting
from hokusai_action.registry.deltaone import Outcome
from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.plan import plan
from hokusai_action.registry.register import Decision, register
from hokusai_action.registry.results import Report, Status
from hokusai_action.registry.settings import RegistrySettings, resolve_settings
from hokusai_action.validation.checker import check_paths
from hokusai_action.validation.rules import Options
from tests.integration.test_attack_record import Repo


@pytest.fixture(scope="module")
def embedded_settings(tmp_path_factory: pytest.TempPathFactory) -> RegistrySettings:
    root = tmp_path_factory.mktemp("embedded-record-cold")
    (root / ".git").mkdir()
    return resolve_settings(None, env={}, cwd=root)


@pytest.fixture
def registry(embedded_settings: RegistrySettings) -> MlflowRegistry:
    return MlflowRegistry(embedded_settings)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def outcome(report: Report) -> Outcome:
    assert report.verdict is not None
    return report.verdict.outcome


def recorded(report: Report) -> str:
    return _outputs(RunResult(reports=[report]), "r")["deltaone-recorded"]


# -- a registration key pre-written where the contributor may write ---------------------------
def test_a_version_of_a_model_outside_the_record_carrying_the_key_is_not_paid(tmp_path, registry):
    """The contributor's own account creates a model (MANAGE on it) and a version of it
    carrying the registration key its pull request will have (a hash of what the contributor
    wrote) and a `deltaone` verdict. The merged pull request names that model: without the
    check, `register` finds the "earlier registration", skips `model_not_in_record`, and
    reports the forged DeltaOne in `deltaone-models`."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    owner = Repo(tmp_path / "a")
    register(owner.plan(0.80, 1), registry, Decision())
    attacker = Repo(tmp_path / "b", token=owner.token)
    p = attacker.plan(0.80, 2)  # no improvement at all
    client = registry.client
    client.create_registered_model(attacker.name)
    run = client.create_run(registry.ensure_experiment(attacker.name))
    client.create_model_version(
        attacker.name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id,
        tags={"hokusai_token_id": owner.token, "hokusai_registration_key": p.registration_key,
              "hokusai_verdict": "deltaone", "deltaone_achieved": "true", "delta": "0.5",
              "baseline_version": "none", "hokusai_attestation_sha256": "ab" * 32},
    )  # fmt: skip
    report = register(p, registry, Decision())
    assert outcome(report) is Outcome.MODEL_NOT_IN_RECORD
    assert recorded(report) == "false"
    assert json.loads(_outputs(RunResult(reports=[report]), "r")["deltaone-models"]) == []


# -- benchmark set edge cases ------------------------------------------------------------------
def test_a_zero_threshold_set_by_the_owner_does_not_pay_an_unchanged_value(repo, registry):
    """`benchmark set --deltaone-threshold 0` is accepted (any gain pays); an unchanged value
    on new model files (a byte appended) is no gain, and was paid as `improvement >= 0`."""
    register(repo.plan(0.80, 1), registry, Decision())
    set_record(registry, repo.token, None, Changes(threshold="0"))
    same = register(repo.plan(0.80, 2), registry, Decision())
    assert outcome(same) is Outcome.UNCHANGED
    assert outcome(register(repo.plan(0.8000001, 3), registry, Decision())) is Outcome.DELTAONE


@pytest.mark.parametrize("floor", ["0", "0.0", "-0", "0E-5"])
def test_a_zero_floor_is_refused_under_the_relative_rule(repo, registry, floor):
    """A floor of 0 turns the floor off: a subnormal baseline pays again on noise."""
    spec = "custom_metrics:\n  score: {direction: higher}\n"
    with pytest.raises(HokusaiError, match="--floor greater than 0"):  # trust on first use
        register(repo.plan(0.5, 1, metric="score", extra=spec), registry, Decision(floor=floor))
    assert registry.benchmark_record(repo.token) is None
    register(repo.plan(0.5, 1, metric="score", extra=spec), registry, Decision())
    with pytest.raises(HokusaiError, match="--floor greater than 0"):
        set_record(registry, repo.token, None, Changes(floor=floor))


def test_removing_the_only_model_is_refused(repo, registry):
    register(repo.plan(0.80, 1), registry, Decision())
    with pytest.raises(HokusaiError, match="at least one model"):
        set_record(registry, repo.token, None, Changes(remove_models=(repo.name,)))


# -- values written in odd forms ---------------------------------------------------------------
@pytest.mark.parametrize("written", ["8.15e-1", "0.8150", "0.815000000000000000001"])
def test_one_value_written_another_way_is_the_same_registration(repo, registry, written):
    """The registration key hashes the parsed manifest: another spelling of one value is the
    same registration (already registered), never a second DeltaOne."""
    register(repo.plan(0.80, 1), registry, Decision())
    first = register(repo.plan(0.815, 2), registry, Decision())
    assert outcome(first) is Outcome.DELTAONE
    reporting.mark_reported(registry, [first], "run 1")
    again = register(repo.plan(written, 2), registry, Decision())
    assert again.status is Status.ALREADY_REGISTERED
    assert recorded(again) == "false"


def test_a_value_short_of_a_point_in_the_eighteenth_decimal_is_not_paid(repo, registry):
    register(repo.plan(0.80, 1), registry, Decision())
    short = register(repo.plan("0.809999999999999999", 2), registry, Decision())
    assert outcome(short) is Outcome.BELOW_THRESHOLD


# -- reported at least once ----------------------------------------------------------------
def test_a_deltaone_cut_off_before_its_outputs_is_reported_by_the_next_push(repo, registry):
    """The run that records a DeltaOne dies before its outputs, and the next push registers
    another manifest (not a re-run of the same one): that registration reports it."""
    register(repo.plan(0.80, 1), registry, Decision())
    register(repo.plan(0.82, 2), registry, Decision())  # the outputs are never written
    later = register(repo.plan(0.821, 3), registry, Decision())  # the next merge
    versions = [e["version"] for e in reporting.deltaone_models([later])]
    assert 2 in versions


# -- a model of the record created by someone else ---------------------------------------------
def test_the_models_a_record_lists_are_created_with_it(tmp_path, registry):
    """The documented order is `benchmark set --from` first, the first `register` second. In
    between, the record (readable by all) names a model no one has created: any account that
    creates it first holds MANAGE on a model of the token, writes its history, and can pre-write
    a pull request's registration key with a `deltaone` verdict. So whoever writes a revision
    creates the models it lists, as it does the record's and the lock's."""
    owner = Repo(tmp_path)
    set_record(registry, owner.token, owner.plan(0.80, 1), Changes())
    assert registry.model_exists(owner.name)
    set_record(registry, owner.token, None, Changes(add_models=("cold-added-" + owner.name,)))
    assert registry.model_exists("cold-added-" + owner.name)
    first = register(owner.plan(0.80, 1), registry, Decision())  # the owner's push still works
    assert outcome(first) is Outcome.FIRST
    assert first.aliases == ["champion"]


def test_one_deltaone_is_one_entry_even_when_two_manifests_register_it(tmp_path, registry):
    """Two identical manifests (a copied directory) are one registration key: the second finds
    the first's version, not yet tagged reported, and listed it again in the same run's
    `deltaone-models`, so a payer counting entries paid twice."""
    (tmp_path / "a").mkdir()
    (tmp_path / "copy").mkdir()
    one = Repo(tmp_path / "a")
    copy = Repo(tmp_path / "copy", token=one.token, name=one.name)
    register(one.plan(0.80, 1), registry, Decision())
    reports = [register(one.plan(0.82, 2), registry, Decision()),
               register(copy.plan(0.82, 2), registry, Decision())]  # fmt: skip
    assert reports[1].status is Status.ALREADY_REGISTERED
    entries = reporting.deltaone_models(reports)
    assert [e["version"] for e in entries] == [2]
    assert _outputs(RunResult(reports=reports), "r")["deltaone-recorded"] == "true"


# -- same_model evasion ------------------------------------------------------------------------
def test_the_same_model_file_under_another_name_is_the_same_model(repo, registry):
    """A single-file model's hash covers its file name: a pull request that only renames
    `model.pkl` (a 100% rename in the diff) evaded `same_model` and was paid for a claimed
    gain. Out of scope: a byte appended or any other change to the bytes is another model, and
    only measurement (issue 15) tells whether it is better."""
    register(repo.plan(0.80, 1), registry, Decision())
    p = repo.plan(0.815, 1)
    (repo.root / "model.pkl").rename(repo.root / "weights.pkl")
    text = (repo.root / "hokusai.yaml").read_text(encoding="utf-8")
    (repo.root / "hokusai.yaml").write_text(text.replace("model.pkl", "weights.pkl"), "utf-8")
    result, manifests = check_paths([repo.root / "hokusai.yaml"], Options())
    assert result.valid, result.problems
    renamed = plan(manifests[0], None)
    assert renamed.model.sha256 != p.model.sha256
    report = register(renamed, registry, Decision())
    assert outcome(report) is Outcome.SAME_MODEL
    assert "other file names" in report.verdict.reason  # type: ignore[union-attr]


def test_a_model_created_before_the_record_lists_it_is_named_for_the_owner_to_check(
    tmp_path, registry
):
    """A rival who reads the owner's public manifest creates its model first and holds MANAGE
    on it; the owner's `benchmark set --from` then lists a model the rival writes. The registry
    does not say who created a model, so the owner is told to check."""
    owner = Repo(tmp_path)
    registry.client.create_registered_model(owner.name)  # the rival, first
    done = set_record(registry, owner.token, owner.plan(0.80, 1), Changes())
    assert any(f"`{owner.name}` already exists" in n for n in done.notes)
    again = set_record(registry, owner.token, None, Changes(require_significance=True))
    assert not any("already exists" in n for n in again.notes)  # said once, when listed
