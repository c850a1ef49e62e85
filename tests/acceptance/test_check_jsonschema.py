"""Users of check-jsonschema can use our schema as it is: prove it with the tool itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, PROJECT, VALID

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
