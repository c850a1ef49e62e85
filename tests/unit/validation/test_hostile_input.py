"""Manifests that parse but carry hostile or surprising values: each ends in a located
problem, never a crash, and a warning never hides an error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hokusai_action.problems import Severity
from hokusai_action.validation.checker import validate
from hokusai_action.validation.manifest import ValueFromError, load_manifest, read_value_from
from hokusai_action.validation.rules import Options
from tests.conftest import VALID, rules_of


def test_warning_at_a_path_does_not_hide_a_schema_error_there(repo):
    problems = repo.check(VALID + 'metrics:\n  f1: "0.9"\n')
    assert sorted(rules_of(problems)) == ["metric-alias", "schema-type"]


def test_unc_and_drive_paths_are_absolute_even_in_hook_mode(repo):
    for path in ["'\\\\server\\share'", "'C:models'", "'C:\\models'"]:
        problems = repo.check(VALID.replace("models/churn", path), missing_paths=Severity.WARNING)
        assert rules_of(problems) == ["path-absolute"], path


def test_backslash_separators_get_the_forward_slash_fix(repo):
    problems = repo.check(VALID.replace("models/churn", "'..\\..\\x'"))
    assert rules_of(problems) == ["path-separator"]
    assert "`../../x`" in problems[0].message


@pytest.mark.parametrize("path", ['"a\\0b"', "a" * 300])
def test_unusable_paths_are_problems_not_crashes(repo, path):
    assert rules_of(repo.check(VALID.replace("models/churn", path))) == ["path-invalid"]


def test_huge_integers_are_not_finite_numbers_for_mlflow(repo):
    problems = repo.check(VALID.replace("0.9312", "1" + "0" * 400))
    assert rules_of(problems) == ["number-not-finite"]
    assert "too large" in problems[0].message


def test_integer_beyond_pythons_digit_limit_is_a_syntax_problem(repo):
    problems = repo.check(VALID.replace("0.9312", "1" * 5000))
    assert rules_of(problems) == ["yaml-syntax"]
    assert "too long" in problems[0].message


@pytest.mark.parametrize(
    "section",
    [
        "ab_test:\n  traffic_split: {baseline: .nan, candidate: .nan}\n",
        "ab_test:\n  traffic_split: {baseline: 0.5, candidate: 0.5}\n  duration_hours: .inf\n",
        "custom_metrics:\n  x: {direction: higher, min: .nan}\n",
    ],
)
def test_nan_and_infinity_are_rejected_anywhere(repo, section):
    assert "number-not-finite" in rules_of(repo.check(VALID + section))


def test_symlink_inside_a_model_directory_leading_outside_is_rejected(repo, tmp_path_factory):
    outside = tmp_path_factory.mktemp("secrets")
    (outside / "key").write_text("secret")
    (repo.root / "models" / "churn" / "weights.bin").symlink_to(outside / "key")
    problems = repo.check(VALID)
    assert rules_of(problems) == ["path-outside"]
    assert "holds `weights.bin`" in problems[0].message


def test_dotdot_escape_is_not_blamed_on_a_symlink(repo):
    problems = repo.check(VALID.replace("models/churn", "../elsewhere"))
    assert "symlink" not in problems[0].message


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("1e-3", "text to YAML 1.1"),
        ("1:30", "only by YAML 1.1"),
        ("010", "only by YAML 1.1"),
        ("1_000", "only by YAML 1.1"),
    ],
)
def test_numbers_that_yaml_1_1_and_1_2_read_differently_are_flagged(repo, text, reads):
    problems = repo.check(VALID.replace("accuracy", "mse").replace("0.9312", text))
    assert rules_of(problems) == ["yaml-ambiguous"]
    assert reads in problems[0].message


@pytest.mark.parametrize("char", ["\u0085", "\u2028", "\u2029"])
def test_line_breaks_only_yaml_sees_are_rejected_where_they_stand(repo, char):
    problems = repo.check(VALID + f'tags:\n  note: "a{char}b"\n')
    assert [(p.rule, p.line, p.column) for p in problems] == [("yaml-line-break", 10, 11)]


def test_control_character_is_located(tmp_path):
    (tmp_path / "hokusai.yaml").write_text("version: 1\nmodel:\n  name: a\x07b\n")
    _, problems = load_manifest(tmp_path / "hokusai.yaml", "hokusai.yaml")
    assert [(p.rule, p.line, p.column) for p in problems] == [("yaml-syntax", 3, 10)]
    assert "U+0007" in problems[0].message


def test_non_utf8_column_counts_characters_not_bytes(tmp_path):
    (tmp_path / "hokusai.yaml").write_bytes("name: é".encode() + b"\xff\n")
    _, problems = load_manifest(tmp_path / "hokusai.yaml", "hokusai.yaml")
    assert (problems[0].line, problems[0].column) == (1, 8)


def test_duplicate_key_in_a_merged_anchor_is_reported_once_where_it_stands(tmp_path):
    (tmp_path / "hokusai.yaml").write_text("base: &b {a: 1, a: 2}\nother:\n  <<: *b\n")
    _, problems = load_manifest(tmp_path / "hokusai.yaml", "hokusai.yaml")
    assert [(p.rule, p.line, p.json_path) for p in problems] == [
        ("yaml-duplicate-key", 1, "$.base.a")
    ]


def test_earlier_merge_source_wins_and_explicit_keys_are_located_where_written(tmp_path):
    text = "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n  y: 3\n"
    (tmp_path / "hokusai.yaml").write_text(text)
    manifest, _ = load_manifest(tmp_path / "hokusai.yaml", "hokusai.yaml")
    assert manifest is not None
    assert manifest.data["c"] == {"x": 1, "y": 3}
    assert manifest.positions.value(("c", "y")).line == 5


def test_quoted_manifest_version_says_to_remove_the_quotes(repo):
    problems = repo.check(VALID.replace("version: 1", 'version: "1"'))
    assert "remove the quotes" in problems[0].message


def test_badly_declared_custom_metric_is_not_also_unknown(repo):
    text = VALID.replace("accuracy", "share") + "custom_metrics:\n  share: {direction: up}\n"
    assert rules_of(repo.check(text)) == ["schema-enum"]


@pytest.mark.parametrize("key", ['"./a"', '"a/"', '"a//b"', '"..a"'])
def test_tag_keys_mlflow_would_normalise_are_rejected(repo, key):
    assert rules_of(repo.check(VALID + f"tags:\n  {key}: v\n")) == ["tag-key"]


def test_benchmark_conflict_is_found_through_aliases(repo):
    problems = repo.check(
        VALID.replace("metric: accuracy", "metric: acc") + "metrics:\n  accuracy: 0.5\n"
    )
    assert "metric-conflict" in rules_of(problems)


def test_one_file_named_twice_is_checked_once(repo):
    path = repo.write("hokusai.yaml", VALID)
    relative = Path(os.path.relpath(path))
    result = validate([path, relative, repo.root], Options())
    assert len(result.files) == 1


def test_value_from_prefers_a_literal_dotted_key(tmp_path):
    (tmp_path / "m.json").write_text('{"test.accuracy": 0.93, "test": {"accuracy": 0.5}}')
    assert read_value_from(tmp_path / "m.json", "test.accuracy") == 0.93


def test_value_from_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "fifo.json")  # reading it would block forever
    with pytest.raises(ValueFromError, match="not a regular file"):
        read_value_from(tmp_path / "fifo.json", "a")


def test_value_from_yaml_error_is_one_line(tmp_path):
    (tmp_path / "m.yaml").write_text("a: !!python/object:os.system {}\n")
    with pytest.raises(ValueFromError) as caught:
        read_value_from(tmp_path / "m.yaml", "a")
    assert "\n" not in str(caught.value)
