"""Users of check-jsonschema can use our schema as it is: prove it with the tool itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hokusai_action.validation.checker import validate
from hokusai_action.validation.rules import Options
from tests.conftest import FIXTURES, PROJECT, VALID
from tests.support.manifest_fuzz import write_corpus

SCHEMA = PROJECT / "schemas" / "hokusai.schema.json"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_schema_passes_the_metaschema_check():
    result = check_jsonschema("--check-metaschema", str(SCHEMA))
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_jsonschema_accepts_every_valid_example_and_fixture():
    files = sorted(PROJECT.glob("examples/*/hokusai.yaml")) + sorted(
        FIXTURES.glob("valid/*/hokusai.yaml")
    )
    result = check_jsonschema("--schemafile", str(SCHEMA), *map(str, files))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "token",
    ["model_001", "sentai", "'img detect'", "'-ABC'", "ABC-", "A--B", '"CHURN-001\\n"', "X" * 65],
)
def test_check_jsonschema_rejects_invalid_token_ids(tmp_path, token):
    manifest = tmp_path / "hokusai.yaml"
    manifest.write_text(VALID.replace("CHURN-001", token))
    result = check_jsonschema("--schemafile", str(SCHEMA), str(manifest))
    assert result.returncode == 1, result.stdout
    assert "token_id" in result.stdout


@pytest.mark.parametrize("token", ["MODEL-001", "SENT-AI", "IMG-DETECT", "CHURN-001"])
def test_check_jsonschema_accepts_valid_token_ids(tmp_path, token):
    manifest = tmp_path / "hokusai.yaml"
    manifest.write_text(VALID.replace("CHURN-001", token))
    assert check_jsonschema("--schemafile", str(SCHEMA), str(manifest)).returncode == 0


# -- nothing we accept may be rejected by check-jsonschema ------------------------------------


def _check_jsonschema_failures(files: list[Path], batch: int = 500) -> dict[str, list[str]]:
    """check-jsonschema's verdict on many files in a few runs: file name -> its failures."""
    failures: dict[str, list[str]] = {}
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        result = check_jsonschema(
            "--schemafile", str(SCHEMA), "--output-format", "json", *map(str, chunk)
        )
        assert result.stdout.strip(), result.stderr[-2000:]  # a crash is a rejection too
        report = json.loads(result.stdout)
        for error in report.get("errors", []):
            failures.setdefault(Path(error["filename"]).name, []).append(
                f"{error['path']}: {error['message'][:200]}"
            )
        for error in report.get("parse_errors", []):
            failures.setdefault(Path(error["filename"]).name, []).append(error["message"])
    return failures


def _accepted(files: list[Path], root: Path) -> list[Path]:
    """The files our validator passes (missing model files ignored, as in the hook's
    `--missing-paths=ignore`: the schema and the YAML are what is compared here)."""
    options = Options(missing_paths=None, root=root)
    return [f for f in files if validate([f], options).valid]


def test_check_jsonschema_rejects_nothing_we_accept_in_the_fuzz_corpus(tmp_path):
    (tmp_path / ".git").mkdir()
    files = write_corpus(tmp_path)
    assert len(files) >= 2000
    accepted = _accepted(files, tmp_path)
    # The corpus is hostile but not hopeless: both verdicts are well represented.
    assert len(accepted) > 250
    assert len(files) - len(accepted) > 1000
    failures = _check_jsonschema_failures(accepted)
    shown = [
        f"{name}: {failures[name][:2]}\n  {(tmp_path / name).read_bytes()!r}"
        for name in sorted(failures)[:10]
    ]
    assert failures == {}, f"{len(failures)} accepted files rejected:\n" + "\n".join(shown)


# The cases a hostile test pass found: each is rejected by check-jsonschema, and must be by us.
HOSTILE = {
    "two-boms": b"\xef\xbb\xbf\xef\xbb\xbf" + VALID.encode(),
    "bom-line-start": VALID.replace("benchmark:", "\ufeffbenchmark:").encode(),
    "bom-name-start": VALID.replace("customer-churn-predictor", '"\\ufeffname"').encode(),
    "bom-name-end": VALID.replace("customer-churn-predictor", '"name\\ufeff"').encode(),
    "nbsp-name-end": VALID.replace("churn-predictor", "churn-predictor\u00a0").encode(),
    "arabic-indic-digit-in-version": (
        VALID.replace("  path:", "  version: 1.\u0660.0\n  path:").encode()
    ),
    "modifier-letter-in-metric-key": (VALID + "metrics:\n  acc\u02b0: 0.5\n").encode(),
    "fullwidth-digit-in-param-key": (VALID + "params:\n  \uff10: x\n").encode(),
    "trailing-tab": VALID.replace("CHURN-001", "CHURN-001\t").encode(),
    "tab-after-colon": VALID.replace("value: ", "value:\t").encode(),
    "octal-name": VALID.replace("customer-churn-predictor", "0o17").encode(),
    "duplicate-merge-key": VALID.replace(
        "  path: models/churn\n", "  <<: {path: models/churn}\n  <<: {flavor: file}\n"
    ).encode(),
    "yaml-1.1-directive": ("%YAML 1.1\n---\n" + VALID + "tags:\n  reviewed: y\n").encode(),
}


def test_hostile_cases_are_rejected_by_check_jsonschema_and_by_us(tmp_path):
    (tmp_path / ".git").mkdir()
    files = []
    for name, data in HOSTILE.items():
        (tmp_path / f"{name}.yaml").write_bytes(data)
        files.append(tmp_path / f"{name}.yaml")
    options = Options(missing_paths=None, root=tmp_path)
    we_accept = [f.name for f in files if validate([f], options).valid]
    assert we_accept == []
    # One run; the `%YAML 1.1` file comes last (HOSTILE keeps it there), because
    # check-jsonschema keeps YAML 1.1 rules for the files it reads after such a file.
    assert files[-1].name == "yaml-1.1-directive.yaml"
    failures = _check_jsonschema_failures(files)
    assert sorted(failures) == sorted(f.name for f in files)
