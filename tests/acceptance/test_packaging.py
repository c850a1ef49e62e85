"""What users install: the wheel must carry the schema, and the base install must stay light."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile

from tests.conftest import PROJECT


def test_wheel_ships_the_schema_and_the_demo_history_inside_the_package(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(tmp_path),
            str(PROJECT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("hokusai_action-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hokusai_action/hokusai.schema.json" in names
    shipped = zipfile.ZipFile(wheel).read("hokusai_action/hokusai.schema.json")
    assert shipped == (PROJECT / "schemas" / "hokusai.schema.json").read_bytes()
    # `hokusai-action demo` runs from an installed wheel: every file of its history is there
    history = PROJECT / "hokusai_action" / "demo" / "history"
    files = {p.relative_to(PROJECT).as_posix() for p in history.rglob("*") if p.is_file()}
    assert {n for n in names if n.startswith("hokusai_action/demo/history/")} == files
    assert len(files) >= 4 * 8  # a manifest and an MLflow model directory per step


def test_base_install_leaves_out_mlflow_requests_and_jsonschema():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    for heavy in ("mlflow", "requests", "jsonschema"):
        assert heavy not in base
