from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hokusai_action.validation import yaml_errors
from hokusai_action.validation.manifest import (
    MAX_FILE_BYTES,
    ValueFromError,
    find_manifests,
    load_manifest,
    read_value_from,
)
from tests.conftest import FIXTURES, VALID


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


def test_block_text_indicator_glued_to_a_value_is_reported_with_the_quoting_fix(tmp_path):
    _, problems = load(tmp_path, "a: |x\n  text\n")
    assert _located(problems) == [("yaml-syntax", 1, 4)]
    assert "`|` starts a block of text" in problems[0].message
    assert '`"|x"`' in problems[0].message


def test_unclosed_bracket_is_reported_where_it_opens_not_at_the_end(tmp_path):
    _, problems = load(tmp_path, "a: {b: 1\nc: 2\n\n")
    assert _located(problems) == [("yaml-syntax", 1, 4)]
    assert "`{` that opens this mapping is never closed" in problems[0].message
    assert "`a: {b: 1}`" in problems[0].message


def test_unrecognised_syntax_error_keeps_the_parsers_words_and_adds_where_to_look(tmp_path):
    _, problems = load(tmp_path, "version\n: 1\n")
    assert _located(problems) == [("yaml-syntax", 2, 1)]
    assert "expected <document start>" in problems[0].message
    assert "a missing `:` after a key" in problems[0].message


YAML_ERROR_CASES = sorted((FIXTURES / "invalid").glob("yaml-*/hokusai.yaml"))


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="needs libyaml to compare with")
@pytest.mark.parametrize("case", YAML_ERROR_CASES, ids=lambda p: p.parent.name)
def test_syntax_messages_are_the_same_with_and_without_libyaml(case):
    text = case.read_text(encoding="utf-8")
    explained = []
    for loader in (yaml.CSafeLoader, yaml.SafeLoader):
        with pytest.raises(yaml.MarkedYAMLError) as error:
            list(yaml.compose_all(text, Loader=loader))
        explained.append(yaml_errors.explain(text, error.value))
    assert explained[0] is not None
    assert explained[0] == explained[1]


_BREAKERS = ":\"'[]{}-#&*@|> \n"


def test_every_small_edit_of_a_manifest_ends_in_problems_not_a_crash(tmp_path):
    lines = VALID.count("\n")
    edits = {VALID[:i] + VALID[i + 1 :] for i in range(len(VALID))}
    edits |= {VALID[:i] + c + VALID[i:] for i in range(len(VALID)) for c in _BREAKERS}
    for text in sorted(edits):
        _, problems = load(tmp_path, text)
        for p in problems:
            if p.rule == "yaml-syntax":
                assert 1 <= p.line <= lines + 1, (text, p)
                assert p.column >= 1, (text, p)


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


# -- where PyYAML is more lenient than YAML 1.2 tools (check-jsonschema's ruamel.yaml) -------


def _located(problems) -> list[tuple[str, int, int]]:
    return [(p.rule, p.line, p.column) for p in problems]


def test_two_byte_order_marks_are_an_error_at_the_second(tmp_path):
    manifest, problems = load(tmp_path, b"\xef\xbb\xbf\xef\xbb\xbf" + VALID.encode())
    assert manifest is None
    assert _located(problems) == [("yaml-bom", 1, 1)]
    assert "second byte-order mark" in problems[0].message
    assert "remove it" in problems[0].message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (VALID.replace("model:", "\ufeffmodel:"), 2),  # libyaml skips it, ruamel keeps it
        ("---\n\ufeff" + VALID, 2),
        (VALID + "\ufeff\n", 9),
        (VALID.replace("\n", "\r\n").replace("model:", "\ufeffmodel:"), 2),
    ],
)
def test_byte_order_mark_at_the_start_of_a_later_line_is_an_error(tmp_path, text, line):
    manifest, problems = load(tmp_path, text)
    assert manifest is None
    assert _located(problems) == [("yaml-bom", line, 1)]


def test_byte_order_mark_inside_a_value_is_left_to_the_schema(tmp_path):
    manifest, problems = load(tmp_path, VALID.replace("churn-predictor", "churn\ufeffpredictor"))
    assert problems == []
    assert manifest is not None


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        (VALID.replace("CHURN-001", "CHURN-001\t"), 4, 22),  # trailing tab
        (VALID.replace("CHURN-001", "CHURN-001 \t# note"), 4, 23),  # tab before a comment
        (VALID.replace("token_id: ", "token_id:\t"), 4, 12),  # tab as the separator
        (VALID.replace("customer-churn", "customer\tchurn"), 3, 17),  # inside a plain value
        (VALID.replace("benchmark:", "benchmark:\t"), 6, 11),
        ("version: 1\n \t\n" + VALID[11:], 2, 2),  # a blank line holding a tab
        ("---\t\n" + VALID, 1, 4),
    ],
)
def test_tab_outside_quotes_and_comments_is_refused_like_ruamel_does(tmp_path, text, line, column):
    manifest, problems = load(tmp_path, text)
    assert manifest is None
    assert _located(problems) == [("yaml-tab", line, column)]
    assert "check-jsonschema" in problems[0].message
    assert "use spaces, or quote a value" in problems[0].message


def test_tab_report_counts_the_other_lines_holding_one(tmp_path):
    _, problems = load(tmp_path, VALID.replace("CHURN-001", "CHURN-001\t").replace("0.9312", "1\t"))
    assert _located(problems) == [("yaml-tab", 4, 22)]
    assert "(and 1 more)" in problems[0].message


@pytest.mark.parametrize(
    "text",
    [
        VALID + "tags:\n  a: \"x\ty\"\n  b: 'x\ty'\n",  # quoted values
        VALID + "tags:\n  a: |\n    x\ty\n",  # block scalar content
        VALID + "# a\tcomment\ntags:\n  a: x # b\tc\n",  # comments
        VALID + "tags: {a:\tx,\tb: y}\n",  # flow collections take tabs as spaces
    ],
)
def test_tab_inside_quotes_block_scalars_comments_and_flow_collections_is_accepted(tmp_path, text):
    manifest, problems = load(tmp_path, text)
    assert problems == []
    assert manifest is not None


@pytest.mark.parametrize("version", ["1.1", "1.3", "2.0"])
def test_yaml_directive_other_than_1_2_is_refused(tmp_path, version):
    manifest, problems = load(tmp_path, f"%YAML {version}\n---\n" + VALID)
    assert manifest is None
    assert _located(problems) == [("yaml-version", 1, 1)]
    assert "remove the `%YAML` line" in problems[0].message


def test_yaml_1_2_directive_is_accepted(tmp_path):
    manifest, problems = load(tmp_path, "%YAML 1.2\n---\n" + VALID)
    assert problems == []
    assert manifest is not None


@pytest.mark.parametrize("octal", ["0o17", "-0o17", "+0o7"])
def test_yaml_1_2_octal_that_yaml_1_1_reads_as_text_is_ambiguous(tmp_path, octal):
    _, problems = load(tmp_path, VALID + f"tags:\n  a: {octal}\n")
    assert _located(problems) == [("yaml-ambiguous", 10, 6)]
    assert "octal" in problems[0].message


@pytest.mark.parametrize("key", ["1e3", "0o17", "-.5"])
def test_key_that_yaml_1_2_reads_as_a_number_is_ambiguous(tmp_path, key):
    _, problems = load(tmp_path, VALID + f"tags:\n  {key}: x\n")
    assert _located(problems) == [("yaml-ambiguous", 10, 3)]
    assert f'quote it: `"{key}":`' in problems[0].message


def test_second_merge_key_in_one_mapping_is_a_duplicate(tmp_path):
    text = VALID.replace("  path: models/churn\n", "  <<: {path: a}\n  <<: {flavor: file}\n")
    manifest, problems = load(tmp_path, text)
    assert manifest is None
    assert _located(problems) == [("yaml-duplicate-key", 6, 3)]
    assert "`<<: [*first, *second]`" in problems[0].message


@pytest.mark.parametrize("tail", ["...\n...\n", "...\n\n... # end\n", "...\r\n...\r\n"])
def test_second_document_end_marker_is_refused(tmp_path, tail):
    manifest, problems = load(tmp_path, VALID + tail)
    assert manifest is None
    assert _located(problems) == [("yaml-syntax", 10 + tail.count("\n\n"), 1)]
    assert "second document end marker `...` (the first is at line 9)" in problems[0].message


def test_one_document_end_marker_is_accepted(tmp_path):
    manifest, problems = load(tmp_path, VALID + "... # end\n")
    assert problems == []
    assert manifest is not None


def test_syntax_error_on_a_very_long_line_is_explained(tmp_path):
    text = VALID.replace("  path: models/churn", "  path: a: b" + " " * 200_000 + "c")
    _, problems = load(tmp_path, text)
    assert _located(problems) == [("yaml-syntax", 5, 9)]
    assert "the value of `path` holds `: `" in problems[0].message


def test_syntax_error_explainer_is_loaded_only_once_a_file_fails_to_parse(tmp_path):
    (tmp_path / "good.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("a: {b\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from hokusai_action.validation.manifest import load_manifest\n"
        "name = 'hokusai_action.validation.yaml_errors'\n"
        "load_manifest(Path('good.yaml'), 'good.yaml')\n"
        "print(name in sys.modules)\n"
        "load_manifest(Path('bad.yaml'), 'bad.yaml')\n"
        "print(name in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.stdout.split() == ["False", "True"], result.stderr


def test_unclosed_list_spread_over_lines_is_reported_where_it_opens_without_a_one_line_fix(
    tmp_path,
):
    _, problems = load(tmp_path, VALID + "tags: [a,\n  b,\n  c\nextra: 1\n")
    assert _located(problems) == [("yaml-syntax", 9, 7)]
    assert "`[` that opens this list is never closed" in problems[0].message
    assert "`tags: [a,]`" not in problems[0].message
