"""Planning a registration from a manifest: pure, no registry."""

from __future__ import annotations

import pytest

from hokusai_action.errors import HokusaiError
from hokusai_action.registry.plan import git_commit, plan, semver_key
from hokusai_action.validation.checker import check_paths
from hokusai_action.validation.rules import Options
from tests.conftest import VALID


def make_plan(repo, text: str = VALID, commit: str | None = "a" * 40):
    path = repo.write("hokusai.yaml", text)
    result, manifests = check_paths([path], Options())
    assert result.valid, result.problems
    return plan(manifests[0], commit)


def test_plan_carries_the_hokusai_tags_as_strings(repo):
    p = make_plan(repo, VALID + "tags: {author: ds}\nparams: {n: 100, fast: true}\n")
    assert p.version_tags["hokusai_token_id"] == "CHURN-001"
    assert p.version_tags["benchmark_metric"] == "accuracy"
    assert p.version_tags["benchmark_value"] == "0.9312"
    assert p.version_tags["author"] == "ds"
    assert p.version_tags["hokusai_manifest"] == "hokusai.yaml"  # no runner's absolute path
    assert p.params == {"n": "100", "fast": "true"}
    assert p.run_tags["mlflow.source.git.commit"] == "a" * 40


def test_aliases_are_logged_under_their_canonical_names(repo):
    p = make_plan(repo, VALID + "metrics: {f1: 0.9}\n")
    assert p.metrics == {"f1_score": 0.9, "accuracy": 0.9312}


def test_registration_key_follows_what_is_registered_not_the_commit(repo):
    first = make_plan(repo).registration_key
    assert make_plan(repo).registration_key == first
    assert make_plan(repo, commit="b" * 40).registration_key == first  # a docs-only commit
    assert make_plan(repo, VALID.replace("0.9312", "0.9313")).registration_key != first
    (repo.root / "models" / "churn" / "model.pkl").write_bytes(b"retrained")
    assert make_plan(repo).registration_key != first


def test_value_from_is_read_at_planning_time(repo):
    repo.write("reports/m.json", '{"test": {"accuracy": 0.95}}')
    p = make_plan(
        repo,
        VALID.replace(
            "  value: 0.9312\n", "  value_from: {file: reports/m.json, key: test.accuracy}\n"
        ),
    )
    assert (p.value, p.value_source) == (0.95, "reports/m.json:test.accuracy")


def test_value_from_file_that_vanished_is_a_clear_error(repo):
    repo.write("m.json", '{"accuracy": 0.95}')
    path = repo.write(
        "hokusai.yaml",
        VALID.replace("  value: 0.9312\n", "  value_from: {file: m.json, key: accuracy}\n"),
    )
    _, manifests = check_paths([path], Options())
    (repo.root / "m.json").unlink()
    with pytest.raises(HokusaiError, match=r"benchmark\.value_from"):
        plan(manifests[0], None)


def test_plain_file_and_mlflow_model_directory_are_told_apart(repo):
    assert not make_plan(repo).model.is_mlflow_model
    (repo.root / "models" / "churn" / "MLmodel").write_text("flavors: {}\n")
    assert make_plan(repo).model.is_mlflow_model


def test_github_sha_is_the_commit_on_a_runner(repo):
    path = repo.write("hokusai.yaml", VALID)
    _, manifests = check_paths([path], Options())
    assert git_commit(manifests[0], {"GITHUB_SHA": "c" * 40}) == ("c" * 40, None)
    commit, note = git_commit(manifests[0], {})  # .git is an empty folder here: no commits
    assert commit is None
    assert note is not None


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.0.0", "1.0.1"),
        ("1.0.0-rc.1", "1.0.0"),
        ("1.0.0-alpha", "1.0.0-beta"),
        ("1.0.0-2", "1.0.0-10"),
        ("1.9.0", "1.10.0"),
    ],
)
def test_semver_ordering(lower, higher):
    assert semver_key(lower) < semver_key(higher)  # type: ignore[operator]


def test_a_flavored_bare_file_is_refused_by_the_plan_too_naming_the_save_call(repo):
    text = VALID.replace(
        "  path: models/churn\n", "  path: models/churn/model.pkl\n  flavor: sklearn\n"
    )
    with pytest.raises(HokusaiError) as refused:
        make_plan(repo, text)  # validate (a warning there) lets it through; the plan does not
    assert "could not be loaded with mlflow.pyfunc" in str(refused.value)
    assert '`mlflow.sklearn.save_model(model, "models/churn/model")`' in str(refused.value)
    assert "`flavor: file`" in str(refused.value)
    plain = text.replace("flavor: sklearn", "flavor: file")
    assert make_plan(repo, plain).notes == ()
    (repo.root / "models" / "churn" / "MLmodel").write_text("flavors: {}\n")
    text = VALID.replace("  path: models/churn\n", "  path: models/churn\n  flavor: sklearn\n")
    assert make_plan(repo, text).notes == ()
