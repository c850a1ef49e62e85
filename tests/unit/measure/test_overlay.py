"""The overlay's choices made before anything is installed: which requirements, which
Python, which index (named by host alone), where the overlays are kept."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from hokusai_action.measure import MeasureError
from hokusai_action.measure.overlay import (
    cache_root,
    check_python,
    indexes,
    refuse_foreign,
    requirements,
    unmet,
)


def _model(tmp_path: Path, lines: str) -> Path:
    (tmp_path / "requirements.txt").write_text(lines)
    return tmp_path


def test_only_requirements_this_environment_does_not_satisfy_are_unmet(tmp_path):
    model = _model(tmp_path, "# a comment\nnumpy==1.0\nscipy>=1\nmlflow==1.0\nfoo-bar==2\n"
                             'baz==1; python_version < "3"\n')  # fmt: skip
    installed = {"numpy": "2.1.0", "scipy": "1.14.1", "mlflow": "3.1.0"}
    missing = unmet(requirements(model), installed)
    # MLflow stays ours (the loader); a marker false here drops its line
    assert [str(r) for r in missing] == ["numpy==1.0", "foo-bar==2"]


@pytest.mark.parametrize(
    "line", ["--index-url https://evil.example/simple", "-r other.txt",
             "probe @ https://evil.example/probe.whl", "./local/path"],
)  # fmt: skip
def test_options_urls_and_paths_in_requirements_are_refused(tmp_path, line):
    with pytest.raises(MeasureError, match="installs packages from the package index only"):
        requirements(_model(tmp_path, f"numpy\n{line}\n"))


def test_a_model_saved_by_another_python_is_refused_with_both_versions(tmp_path):
    other = f"{sys.version_info.major}.{sys.version_info.minor + 1}.0"
    (tmp_path / "python_env.yaml").write_text(f"python: {other}\nbuild_dependencies: []\n")
    with pytest.raises(MeasureError, match=f"saved with Python {other}"):
        check_python(tmp_path)
    same = f"{sys.version_info.major}.{sys.version_info.minor}.99"
    (tmp_path / "python_env.yaml").write_text(f"python: {same}\n")
    check_python(tmp_path)  # the patch level does not matter


def test_the_index_comes_from_uv_then_pip_variables_and_is_named_by_host_alone():
    found = indexes({"PIP_INDEX_URL": "https://pip.example/simple",
                     "UV_INDEX_URL": "https://user:s3cret@uv.example:8443/simple",
                     "UV_EXTRA_INDEX_URL": "https://extra.example/simple"})  # fmt: skip
    assert found.main == "https://user:s3cret@uv.example:8443/simple"
    assert found.extra == ("https://extra.example/simple",)
    assert found.hosts() == "https://uv.example:8443, https://extra.example"
    assert indexes({}).main == "https://pypi.org/simple"


def test_overlays_move_to_var_cache_when_nobody_cannot_reach_the_users_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "hokusai-action" / "envs"
    assert cache_root(lambda path: path == tmp_path) == Path("/var/cache/hokusai-action/envs")
    assert cache_root(lambda path: False) == tmp_path / "hokusai-action" / "envs"


def test_a_requirement_satisfied_here_needs_no_overlay():
    assert unmet([Requirement("pytest>=1")], {"pytest": "8.0"}) == []


def test_a_cached_environment_others_may_write_is_not_used(tmp_path):
    root = tmp_path / "overlay"
    (root / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (root / "hokusai-overlay.json").write_text("{}")
    refuse_foreign(root)  # ours
    (root / "lib" / "python3.11" / "site-packages").chmod(0o777)
    with pytest.raises(MeasureError, match="is not ours alone"):
        refuse_foreign(root)
