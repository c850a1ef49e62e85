from __future__ import annotations

from pathlib import Path

import pytest

from hokusai_action.validation.manifest import (
    MAX_FILE_BYTES,
    ValueFromError,
    find_manifests,
    load_manifest,
    read_value_from,
)
from tests.conftest import VALID


def load(tmp_path: Path, text: str | bytes):
    path = tmp_path / "hokusai.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return load_manifest(path, "hokusai.yaml")


def test_positions_point_at_keys_and_values(tmp_path):
    manifest, problems = load(tmp_path, VALID)
    assert problems == []
    assert manifest is not None
    token = manifest.positions
    assert (token.key(("model", "token_id")).line, token.key(("model", "token_id")).column) == (
        4,
        3,
    )
    value = token.value(("model", "token_id"))
    assert (value.line, value.column) == (4, 13)


def test_position_of_missing_key_falls_back_to_its_parent_mapping(tmp_path):
    manifest, _ = load(tmp_path, VALID)
    assert manifest is not None
    at = manifest.positions.value(("model", "no_such_key"))
    assert (at.line, at.column) == (3, 3)


def test_duplicate_key_is_reported_at_its_second_occurrence(tmp_path):
    manifest, problems = load(tmp_path, VALID + "tags:\n  a: x\n  a: y\n")
    assert manifest is not None
    assert [(p.rule, p.line, p.column) for p in problems] == [("yaml-duplicate-key", 11, 3)]
    assert "first at line 10" in problems[0].message


def test_tab_indentation_names_the_tab(tmp_path):
    _, problems = load(tmp_path, "version: 1\nmodel:\n\tname: x\n")
    assert [(p.rule, p.line, p.column) for p in problems] == [("yaml-tab", 3, 1)]
    assert "spaces" in problems[0].message


def test_non_utf8_bytes_are_located(tmp_path):
    _, problems = load(tmp_path, b"version: 1\nmodel:\n  name: caf\xe9\n")
    assert [(p.rule, p.line, p.column) for p in problems] == [("yaml-encoding", 3, 12)]
    assert "0xe9" in problems[0].message


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    manifest, problems = load(tmp_path, b"\xef\xbb\xbf" + VALID.encode())
    assert problems == []
    assert manifest is not None
    assert manifest.data["version"] == 1


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n"])
def test_empty_document_is_an_error(tmp_path, text):
    manifest, problems = load(tmp_path, text)
    assert manifest is None
    assert [p.rule for p in problems] == (["yaml-not-mapping"] if text == "~\n" else ["yaml-empty"])


@pytest.mark.parametrize(
    ("text", "found"), [("- a\n- b\n", "a list"), ("just text\n", "a single value")]
)
def test_top_level_must_be_a_mapping(tmp_path, text, found):
    _, problems = load(tmp_path, text)
    assert [p.rule for p in problems] == ["yaml-not-mapping"]
    assert found in problems[0].message


def test_second_document_is_located(tmp_path):
    _, problems = load(tmp_path, VALID + "---\nversion: 1\n")
    assert [(p.rule, p.line) for p in problems] == [("yaml-multiple-documents", 10)]


def test_oversized_file_is_refused_without_reading_it_all(tmp_path):
    _, problems = load(tmp_path, "a: " + "x" * MAX_FILE_BYTES + "\n")
    assert [p.rule for p in problems] == ["yaml-too-large"]


def test_alias_bomb_is_stopped_at_the_node_limit(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    manifest, problems = load(tmp_path, "\n".join(lines) + "\n")  # 10**9 values if expanded
    assert manifest is None
    assert [p.rule for p in problems] == ["yaml-too-complex"]


def test_recursive_alias_is_an_error_not_a_hang(tmp_path):
    _, problems = load(tmp_path, "a: &a [1, *a]\n")
    assert [p.rule for p in problems] == ["yaml-recursive-alias"]


def test_deep_nesting_is_an_error_not_a_recursion_crash(tmp_path):
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n"
    _, problems = load(tmp_path, text)
    assert [p.rule for p in problems] == ["yaml-too-complex"]


def test_merge_keys_are_applied_and_explicit_keys_win(tmp_path):
    manifest, problems = load(tmp_path, "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n")
    assert problems == []
    assert manifest is not None
    assert manifest.data["c"] == {"x": 1, "y": 3}


@pytest.mark.parametrize("text", ["a: !!python/object:os.system {}\n", "a: !custom 1\n"])
def test_unknown_tags_are_refused(tmp_path, text):
    _, problems = load(tmp_path, text)
    assert [p.rule for p in problems] == ["yaml-unsupported-tag"]


def test_non_text_keys_are_reported_and_kept_as_written(tmp_path):
    manifest, problems = load(tmp_path, "tags:\n  yes: a\n  1.0: b\n")
    assert manifest is not None
    assert set(manifest.data["tags"]) == {"yes", "1.0"}  # nothing the user wrote is lost
    assert [p.rule for p in problems] == ["yaml-key-type", "yaml-key-type"]
    assert 'quote it: `"yes":`' in problems[0].message


def test_unreadable_path_is_an_io_error(tmp_path):
    _, problems = load_manifest(tmp_path, "dir")  # a directory cannot be read as a file
    assert [p.rule for p in problems] == ["io-error"]


def test_syntax_error_names_where_the_construct_started(tmp_path):
    _, problems = load(tmp_path, "a: {b: 1\n")
    assert problems[0].rule == "yaml-syntax"
    assert "started at line 1" in problems[0].message


def test_find_manifests_skips_hidden_and_vendor_directories(tmp_path):
    for rel in [
        "a/hokusai.yaml",
        "b/c/hokusai.yml",
        ".venv/x/hokusai.yaml",
        "node_modules/hokusai.yaml",
        "d/other.yaml",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x: 1\n")
    found = sorted(p.relative_to(tmp_path).as_posix() for p in find_manifests(tmp_path))
    assert found == ["a/hokusai.yaml", "b/c/hokusai.yml"]


def test_read_value_from_descends_dotted_keys_in_json_and_yaml(tmp_path):
    (tmp_path / "m.json").write_text('{"test": {"rmse": 1.5}}')
    (tmp_path / "m.yaml").write_text("test:\n  rmse: 2.5\n")
    assert read_value_from(tmp_path / "m.json", "test.rmse") == 1.5
    assert read_value_from(tmp_path / "m.yaml", "test.rmse") == 2.5


def test_read_value_from_names_the_available_keys_when_one_is_missing(tmp_path):
    (tmp_path / "m.json").write_text('{"test": {"rmse": 1.5, "mae": 1}}')
    with pytest.raises(ValueFromError, match="keys there: `rmse`, `mae`"):
        read_value_from(tmp_path / "m.json", "test.r2")


def test_read_value_from_reports_broken_json(tmp_path):
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(ValueFromError, match="not valid JSON"):
        read_value_from(tmp_path / "m.json", "a")
