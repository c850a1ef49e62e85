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


HUGE = "1" + "0" * 400  # an integer no float can hold


_CUSTOM = "custom_metrics:\n  x: {direction: DIR, BOUNDS}\n"
_SPLIT = "ab_test:\n  traffic_split: {baseline: B, candidate: 0}\n  duration_hours: D\n"


@pytest.mark.parametrize(
    ("section", "path"),
    [
        (_CUSTOM.replace("DIR", "higher").replace("BOUNDS", f"min: {HUGE}"),
         ("custom_metrics", "x", "min")),
        (_CUSTOM.replace("DIR", "lower").replace("BOUNDS", f"max: -{HUGE}"),
         ("custom_metrics", "x", "max")),
        (_CUSTOM.replace("DIR", "lower").replace("BOUNDS", f"min: 0, max: {HUGE}"),
         ("custom_metrics", "x", "max")),
        (f"params:\n  n: {HUGE}\n", ("params", "n")),
        (f"metrics:\n  f1_score: {HUGE}\n", ("metrics", "f1_score")),
        (f"contribution:\n  additional_samples: {HUGE}\n", ("contribution", "additional_samples")),
        (_SPLIT.replace("B", HUGE).replace("D", "1"), ("ab_test", "traffic_split", "baseline")),
        (_SPLIT.replace("B", "1").replace("D", HUGE), ("ab_test", "duration_hours")),
    ],
)  # fmt: skip
def test_integer_too_large_for_a_float_is_not_finite_wherever_it_stands(repo, section, path):
    problems = repo.check(VALID + section)
    found = [p for p in problems if p.rule == "number-not-finite"]
    assert [p.path for p in found] == [path]
    assert "(too large)" in found[0].message


def test_huge_custom_metric_bound_is_one_problem_at_the_bound(repo):
    text = VALID.replace("accuracy", "latency") + (
        f"custom_metrics:\n  latency: {{direction: lower, min: 0, max: {HUGE}}}\n"
    )
    problems = repo.check(text)
    assert rules_of(problems) == ["number-not-finite"]
    assert (problems[0].line, problems[0].column) == (10, 44)


@pytest.mark.parametrize(
    "where", ["  dataset: {name: d, samples: HUGE}\n", "  baseline: {version: HUGE}\n"]
)
def test_huge_integer_in_benchmark_details_is_not_finite(repo, where):
    problems = repo.check(VALID + where.replace("HUGE", HUGE))
    assert "number-not-finite" in rules_of(problems)


def test_huge_integer_read_through_value_from_is_not_finite(repo):
    repo.write("m.json", '{"acc": ' + HUGE + "}")
    text = VALID.replace("  value: 0.9312\n", "  value_from: {file: m.json, key: acc}\n")
    problems = repo.check(text)
    assert rules_of(problems) == ["number-not-finite"]
    assert "(too large)" in problems[0].message
    assert HUGE not in problems[0].message


@pytest.mark.parametrize("version", ["1.\u00b2", "\u00b9.0", "1.\u0660"])
def test_version_with_non_ascii_digits_gets_no_crash_and_no_odd_suggestion(repo, version):
    problems = repo.check(VALID.replace("  path:", f'  version: "{version}"\n  path:'))
    assert rules_of(problems) == ["semver"]
    assert "did you mean" not in problems[0].message


# -- the manifest itself must be a file of the repository ---------------------------------


def test_manifest_symlinked_to_a_file_outside_the_repository_is_not_read(repo, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "real.yaml"
    outside.write_text(VALID.replace("customer-churn-predictor", "value-from-outside"))
    (repo.root / "hokusai.yaml").symlink_to(outside)
    result = validate([repo.root / "hokusai.yaml"], Options())
    problems = result.problems
    assert [(p.rule, p.line, p.column) for p in problems] == [("manifest-outside", 1, 1)]
    assert "through a symlink" in problems[0].message
    assert "replace the symlink with the file" in problems[0].message
    assert not result.valid
    assert all("value-from-outside" not in p.message for p in problems)


def test_manifest_under_a_symlinked_directory_outside_the_repository_is_not_read(
    repo, tmp_path_factory
):
    outside = tmp_path_factory.mktemp("elsewhere")
    (outside / ".git").mkdir()  # even another repository
    (outside / "hokusai.yaml").write_text(VALID)
    (repo.root / "linked").symlink_to(outside, target_is_directory=True)
    problems = validate([repo.root / "linked" / "hokusai.yaml"], Options()).problems
    assert rules_of(problems) == ["manifest-outside"]


def test_manifest_given_a_root_it_is_not_under_is_not_read(repo, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    problems = repo.check(VALID, root=other)
    assert rules_of(problems) == ["manifest-outside"]
    assert "through a symlink" not in problems[0].message


def test_manifest_symlinked_to_a_file_inside_the_repository_is_read(repo):
    repo.write("config/real.yaml", VALID.replace("models/churn", "../models/churn"))
    (repo.root / "config" / "hokusai.yaml").symlink_to("real.yaml")
    assert validate([repo.root / "config" / "hokusai.yaml"], Options()).problems == []


@pytest.mark.parametrize(
    "value",
    ["!!bool foo", "!!timestamp foo", "!!float x", "!!int 0x", "!!timestamp 2020-13-45"],
)  # fmt: skip
def test_an_explicit_tag_the_value_does_not_fit_is_an_error_not_a_crash(tmp_path, value):
    manifest = tmp_path / "hokusai.yaml"
    manifest.write_text(VALID.replace("version: 1\n", f"version: 1\ntags: {{note: {value}}}\n", 1))
    problems = load_manifest(manifest, "hokusai.yaml")[1]
    assert [p.rule for p in problems] == ["yaml-unsupported-tag"]
    assert "remove the tag" in problems[0].message
