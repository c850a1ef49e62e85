"""Tags, paths, addresses, versions, A/B splits and checks across manifests."""

from __future__ import annotations

import pytest

from hokusai_action.problems import Severity
from hokusai_action.validation.checker import validate
from hokusai_action.validation.eip55 import has_valid_checksum, keccak256, to_checksum_address
from hokusai_action.validation.rules import Options
from tests.conftest import VALID, rules_of

# -- tags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "hokusai_token_id",
        "benchmark_metric",
        "benchmark_value",
        "mlflow.source.git.commit",
        "hokusai.anything",
        "deltaone_achieved",
    ],
)
def test_reserved_tag_names_cannot_be_set_by_hand(repo, key):
    problems = repo.check(VALID + f"tags:\n  {key}: x\n")
    assert rules_of(problems) == ["tag-reserved"]
    assert (problems[0].line, problems[0].column) == (10, 3)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("yes", "yaml-ambiguous"),  # YAML 1.1 says true, YAML 1.2 tools say "yes"
        ("2024-01-01", "yaml-ambiguous"),  # a date to YAML 1.1 only
        ("1.0", "schema-type"),
        ("null", "schema-type"),
        ("42", "schema-type"),
    ],
)
def test_tag_values_typed_by_yaml_are_reported_with_the_quote_fix(repo, value, rule):
    problems = repo.check(VALID + f"tags:\n  t: {value}\n")
    assert rules_of(problems) == [rule]
    assert "quote it" in problems[0].message
    assert f'`"{value}"`' in problems[0].message


def test_quoted_tag_values_pass(repo):
    assert repo.check(VALID + 'tags:\n  t: "yes"\n  u: "1.0"\n') == []


def test_tag_key_over_mlflow_length_limit_is_rejected(repo):
    problems = repo.check(VALID + f"tags:\n  {'k' * 251}: x\n")
    assert rules_of(problems) == ["schema-maxLength"]


def test_tag_value_over_mlflow_length_limit_is_rejected(repo):
    assert rules_of(repo.check(VALID + f"tags:\n  k: {'v' * 8001}\n")) == ["schema-maxLength"]


@pytest.mark.parametrize("key", ['"/x"', '"a/../b"', '"."', '"a/./b"'])
def test_path_like_tag_keys_mlflow_refuses_are_rejected(repo, key):
    assert rules_of(repo.check(VALID + f"tags:\n  {key}: v\n")) == ["tag-key"]


def test_params_accept_text_numbers_and_booleans(repo):
    assert repo.check(VALID + "params:\n  a: 1\n  b: x\n  c: true\n  d: 0.5\n") == []
    assert rules_of(repo.check(VALID + "params:\n  a: [1]\n")) == ["schema-type"]


# -- paths ------------------------------------------------------------------------------


def test_model_path_escaping_with_dotdot_is_rejected(repo):
    problems = repo.check(VALID.replace("models/churn", "../elsewhere"))
    assert rules_of(problems) == ["path-outside"]


def test_absolute_model_path_is_rejected(repo):
    assert rules_of(repo.check(VALID.replace("models/churn", "/etc/passwd"))) == ["path-absolute"]


def test_symlink_leading_outside_the_repository_is_rejected(repo, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "model.pkl").write_bytes(b"x")
    (repo.root / "models" / "linked").symlink_to(outside)
    problems = repo.check(VALID.replace("models/churn", "models/linked/model.pkl"))
    assert rules_of(problems) == ["path-outside"]
    assert "symlink" in problems[0].message


def test_symlink_inside_the_repository_is_fine(repo):
    (repo.root / "models" / "alias").symlink_to(repo.root / "models" / "churn")
    assert repo.check(VALID.replace("models/churn", "models/alias")) == []


def test_paths_are_relative_to_the_manifest_not_the_working_directory(repo):
    repo.write("models/churn/hokusai.yaml", VALID.replace("models/churn", "model.pkl"))
    assert validate([repo.root], Options()).problems == []


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(Severity.ERROR, [Severity.ERROR]), (Severity.WARNING, [Severity.WARNING]), (None, [])],
)
def test_missing_model_path_follows_the_missing_paths_option(repo, mode, expected):
    problems = repo.check(VALID.replace("models/churn", "models/later.pkl"), missing_paths=mode)
    assert [p.severity for p in problems] == expected


def test_model_over_the_size_limit_is_a_warning(repo):
    (repo.root / "models" / "churn" / "weights.bin").write_bytes(b"0" * 2000)
    problems = repo.check(VALID, max_model_bytes=1000)
    assert [(p.rule, p.severity) for p in problems] == [("model-size", Severity.WARNING)]
    assert "2.0 kB" in problems[0].message
    assert repo.check(VALID, max_model_bytes=10_000) == []


def test_repository_root_is_found_from_git_above_the_manifest(repo):
    nested = VALID.replace("models/churn", "../../models/churn")
    assert repo.check(nested, relative="a/b/hokusai.yaml") == []


# -- contribution ---------------------------------------------------------------------------

# Test vectors from EIP-55 itself.
EIP55_VECTORS = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize(
    ("data", "digest"),
    [
        (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
        (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
        (b"x" * 135, "16570bdb055e663ea1cb57ac6f09194f4bc7b7070847971fc0b86710366dc34f"),
        (b"x" * 136, "50da8ef3747b7a7f01d08563aa11c72a2a668563fb928adc6e8d2a1ab4e36096"),
        (bytes(range(256)) * 3, "00e77ce2c4f77212a0d5df106b08157b77058479357a98a6039b457c469723e4"),
    ],
)
def test_keccak256_matches_ethereum_not_sha3(data, digest):
    import hashlib

    assert keccak256(data).hex() == digest
    assert hashlib.sha3_256(data).hexdigest() != digest


@pytest.mark.parametrize("address", EIP55_VECTORS)
def test_eip55_vectors_pass_and_their_case_is_reproduced(address):
    assert has_valid_checksum(address)
    assert to_checksum_address(address.lower()) == address


def test_single_case_addresses_carry_no_checksum_and_pass():
    assert has_valid_checksum(EIP55_VECTORS[0].lower())
    assert has_valid_checksum("0x" + EIP55_VECTORS[0][2:].upper())


def test_mixed_case_address_with_wrong_checksum_is_rejected(repo):
    wrong = EIP55_VECTORS[0][:-1] + "D"
    problems = repo.check(VALID + f'contribution:\n  contributor_address: "{wrong}"\n')
    assert rules_of(problems) == ["address-checksum"]
    assert EIP55_VECTORS[0] not in problems[0].message  # never "fix" a typo into a valid address


@pytest.mark.parametrize(
    "address",
    [
        "0x123",
        "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xZZAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    ],
)
def test_malformed_addresses_are_rejected(repo, address):
    problems = repo.check(VALID + f'contribution:\n  contributor_address: "{address}"\n')
    assert rules_of(problems) == ["schema-pattern"]


def test_unquoted_hex_address_read_as_a_number_gets_the_quote_hint(repo):
    problems = repo.check(
        VALID + "contribution:\n  contributor_address: 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\n"
    )
    assert rules_of(problems) == ["schema-type"]
    assert "quote it" in problems[0].message


# -- versions and A/B tests -------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1.0", "0.0.1", "2.0.0-rc.1", "1.0.0+build.5", "10.20.30"])
def test_semantic_versions_pass(repo, version):
    assert (
        repo.check(
            VALID.replace("  path: models/churn\n", f"  path: models/churn\n  version: {version}\n")
        )
        == []
    )


@pytest.mark.parametrize(
    ("version", "hint"),
    [
        ('"1.1"', "1.1.0"),
        ("v1.2.3", "1.2.3"),
        ('"01.2.3"', "1.2.3"),
        ("1.2.3.4", None),
        ("latest", None),
    ],
)
def test_non_semantic_versions_fail_with_a_hint_where_one_fits(repo, version, hint):
    problems = repo.check(
        VALID.replace("  path: models/churn\n", f"  path: models/churn\n  version: {version}\n")
    )
    assert rules_of(problems) == ["semver"]
    assert (
        (f"did you mean `{hint}`" in problems[0].message)
        if hint
        else ("did you mean" not in problems[0].message)
    )


@pytest.mark.parametrize(
    ("baseline", "candidate", "ok"),
    [(0.9, 0.1, True), (0.5, 0.5, True), (0.7, 0.2, False), (1, 0.1, False), (0, 1, True)],
)
def test_traffic_split_must_sum_to_one(repo, baseline, candidate, ok):
    problems = repo.check(
        VALID + f"ab_test:\n  traffic_split: {{baseline: {baseline}, candidate: {candidate}}}\n"
    )
    assert rules_of(problems) == ([] if ok else ["traffic-split"])


# -- across files ---------------------------------------------------------------------


def test_same_model_name_with_two_tokens_across_files_is_an_error(repo):
    repo.write("a/hokusai.yaml", VALID.replace("models/churn", "../models/churn"))
    repo.write(
        "b/hokusai.yaml",
        VALID.replace("models/churn", "../models/churn").replace("CHURN-001", "CHURN-002"),
    )
    result = validate([repo.root], Options())
    assert [(p.file.endswith("b/hokusai.yaml"), p.rule) for p in result.problems] == [
        (True, "model-token-conflict")
    ]
    assert "a/hokusai.yaml" in result.problems[0].message


def test_same_model_name_with_the_same_token_across_files_is_fine(repo):
    repo.write("a/hokusai.yaml", VALID.replace("models/churn", "../models/churn"))
    repo.write("b/hokusai.yaml", VALID.replace("models/churn", "../models/churn"))
    assert validate([repo.root], Options()).problems == []


# -- the benchmark ---------------------------------------------------------------------


def test_benchmark_needs_exactly_one_of_value_and_value_from(repo):
    both = VALID + "  value_from: {file: models/churn/model.pkl, key: a}\n"
    assert "not both" in repo.check(both)[0].message
    neither = VALID.replace("  value: 0.9312\n", "")
    problems = repo.check(neither)
    assert rules_of(problems) == ["benchmark-value"]
    assert (problems[0].line, problems[0].column) == (6, 1)  # at the `benchmark:` key


# -- model format -----------------------------------------------------------------------


def test_a_flavor_on_a_bare_file_warns_with_the_flavors_save_model_call(repo):
    text = VALID.replace(
        "  path: models/churn\n", "  path: models/churn/model.pkl\n  flavor: sklearn\n"
    )
    problems = repo.check(text)
    assert rules_of(problems) == ["model-not-mlflow"]
    assert problems[0].severity is Severity.WARNING
    assert (problems[0].line, problems[0].column) == (5, 9)
    assert "bare file with no `MLmodel`" in problems[0].message
    assert '`mlflow.sklearn.save_model(model, "models/churn/model")`' in problems[0].message
    assert "or set `flavor: file`" in problems[0].message


def test_a_flavor_without_mlmodel_is_an_error_when_registering_or_comparing(repo):
    text = VALID.replace("  path: models/churn\n", "  path: models/churn\n  flavor: sklearn\n")
    (problem,) = repo.check(text, registering=True)
    assert (problem.rule, problem.severity) == ("model-not-mlflow", Severity.ERROR)
    assert "could not be loaded back with `mlflow.pyfunc.load_model`" in problem.message
    assert '`mlflow.sklearn.save_model(model, "models/churn")`' in problem.message
    assert "or set `flavor: file`" in problem.message
    assert repo.check(text.replace("flavor: sklearn", "flavor: file"), registering=True) == []


def test_a_pyfunc_directory_without_mlmodel_gets_pyfuncs_own_save_call(repo):
    problems = repo.check(
        VALID.replace("  path: models/churn\n", "  path: models/churn\n  flavor: pyfunc\n")
    )
    assert rules_of(problems) == ["model-not-mlflow"]
    assert "holds no `MLmodel` file" in problems[0].message
    assert '`mlflow.pyfunc.save_model("models/churn", python_model=model)`' in problems[0].message


@pytest.mark.parametrize("flavor", ["file", None])
def test_flavor_file_or_none_registers_bare_files_without_a_warning(repo, flavor):
    extra = f"  flavor: {flavor}\n" if flavor else ""
    text = VALID.replace("  path: models/churn\n", f"  path: models/churn/model.pkl\n{extra}")
    assert repo.check(text) == []


def test_an_mlflow_model_directory_with_a_flavor_passes(repo):
    (repo.root / "models" / "churn" / "MLmodel").write_text("flavors: {}\n")
    assert (
        repo.check(
            VALID.replace("  path: models/churn\n", "  path: models/churn\n  flavor: onnx\n")
        )
        == []
    )


@pytest.mark.parametrize("flavor", ["[sklearn]", "{a: 1}", "sklern"])
def test_a_flavor_the_schema_refuses_gets_no_save_model_advice(repo, flavor):
    text = VALID.replace("  path: models/churn\n", f"  path: models/churn\n  flavor: {flavor}\n")
    assert "model-not-mlflow" not in rules_of(repo.check(text))
