"""`hokusai-action demo`, the README's main command: a short history of one real model,
registered step by step by the real code path into a throw-away registry."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from hokusai_action.demo.story import HISTORY, load_steps, step_folders
from hokusai_action.errors import HokusaiError
from tests.conftest import PROJECT
from tests.support.build_models import load_build_models
from tests.support.cli import CLI, cli_environment, invoke_cli, run_cli

README = (PROJECT / "README.md").read_text(encoding="utf-8")
DEMO_PAGE = (PROJECT / "docs" / "demo.md").read_text(encoding="utf-8")
RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.InconsistentVersionWarning")


def _without_run_ids(text: str) -> str:
    return RUN_ID.sub("RUN_ID", text)


def _markdown_block(page: str) -> str:
    (block,) = re.findall(r"````markdown\n(.*?)````", page, flags=re.S)
    return block


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """One run of the demo, in an empty folder, with its own temporary directory: one the
    measured model's user (`nobody`, when the tests run as root) can enter, which pytest's
    own folders are not."""
    cwd = tmp_path_factory.mktemp("cwd")
    tmp = Path(tempfile.mkdtemp(prefix="hokusai-demo-test-"))
    tmp.chmod(0o711)
    try:
        result = run_cli("demo", cwd=cwd, env={"TMPDIR": str(tmp)})
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"in {tmp}" in result.stderr  # where the throw-away registry was
        yield result.stdout, cwd, tmp
    finally:
        shutil.rmtree(tmp)


@pytest.fixture(scope="module")
def json_run(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """One run of `demo --format json`, as a process of its own: its results."""
    result = run_cli("demo", "--format", "json", cwd=tmp_path_factory.mktemp("json"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["results"]


DEMO_KEY = "hk-live-demo-0123456789abcdef"


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """One run of `demo --format text` in an environment that names another registry (one
    that would never answer) and holds a key: neither may be used nor shown."""
    home = tmp_path_factory.mktemp("text")
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "HOKUSAI_API_KEY": DEMO_KEY + "\n",
           "HOME": str(home)}  # fmt: skip
    result = run_cli("demo", "--format", "text", cwd=home, env=env)
    assert result.returncode == 0, result.stdout + result.stderr  # port 9 was never asked
    return result, home


def test_demo_judges_each_step_against_the_rewarded_baseline(json_run):
    results = json_run
    outcomes = [r["outcome"] for r in results]
    assert outcomes == ["first_registration", "deltaone", "improved_below_threshold", "regression"]
    baselines = [r["baseline_version"] for r in results]
    assert baselines == [None, 1, 2, 2]  # the high-water mark: v3 below threshold is not one
    assert [r["version"] for r in results] == [1, 2, 3, 4]
    assert [r["deltaone"] for r in results] == [False, True, False, False]


def test_demo_prints_each_step_as_the_action_comment_with_the_history_chart(first_run):
    out, _, _ = first_run
    assert out.count("<!-- hokusai-action:deltaone model=") == 4
    assert "### ✅ DeltaOne achieved: customer-churn-predictor" in out
    assert "### 🔴 regression: worse than the baseline" in out
    assert "x-axis [v1, v2, v3, v4]" in out  # the chart of the last step
    assert "DeltaOne achieved by 1 version: v2 (+1.20 pp)." in out
    assert "Judged: v2 against v1; v3 against v2; v4 against v2." in out  # the high-water mark


def test_docs_show_the_demo_output_as_it_is(first_run):
    out, _, _ = first_run
    assert _without_run_ids(_markdown_block(DEMO_PAGE)) == _without_run_ids(out)


def test_readme_shows_the_end_of_the_demo_output_as_it_is(first_run):
    out, _, _ = first_run
    excerpt = _markdown_block(README)
    assert excerpt.startswith("## The verdicts side by side\n")
    assert out.endswith(excerpt)


def test_demo_second_run_prints_the_same_but_for_run_ids(first_run, tmp_path):
    out, _, _ = first_run
    second = invoke_cli("demo", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert _without_run_ids(second.stdout) == _without_run_ids(out)
    assert RUN_ID.findall(second.stdout) != RUN_ID.findall(out)  # what the intro says differs


def test_demo_leaves_nothing_behind(first_run):
    _, cwd, tmp = first_run
    assert list(cwd.iterdir()) == []  # no .hokusai/ where it ran
    assert list(tmp.iterdir()) == []  # and its registry is gone


def test_demo_text_format_is_the_register_report(text_run):
    result, _ = text_run
    assert "+1.20 pp -> DeltaOne achieved" in result.stdout
    assert "== The verdicts side by side" in result.stdout
    assert "the temporary folder's name" in result.stdout  # why a rerun's text differs


def test_demo_values_are_measured_and_are_what_its_models_score(json_run):
    """Nothing shown is made up nor typed: no step claims a value, and each value the demo
    shows is measured, exactly its model's accuracy on the holdout it ships."""
    build_models = load_build_models()
    _, _, test_x, test_y = build_models.churn_data()
    holdout = HISTORY / build_models.DEMO_HOLDOUT
    shipped = pd.read_csv(holdout)
    assert shipped.drop(columns=build_models.CHURN_TARGET).equals(test_x)
    assert (shipped[build_models.CHURN_TARGET].to_numpy() == test_y.to_numpy()).all()
    assert holdout.stat().st_size < 300_000  # it ships in the wheel
    results = json_run
    assert len(step_folders()) == len(build_models.DEMO_STEPS) == len(results) == 4
    for folder, shown in zip(step_folders(HISTORY), results, strict=True):
        manifest = yaml.safe_load((folder / "hokusai.yaml").read_text(encoding="utf-8"))
        assert "value" not in manifest["benchmark"], folder.name
        model = mlflow.pyfunc.load_model(str(folder / "model"))
        accuracy = float((model.predict(test_x) == test_y).mean())
        assert shown["value"] == accuracy, folder.name
        assert shown["measured"]["claimed"] is None
        assert shown["measured"]["rows"] == 5000
    assert "Every value was measured by hokusai-action on churn-holdout v2.1 (5,000 rows)" in README


def test_demo_never_uses_the_configured_registry_nor_prints_the_key(text_run):
    result, home = text_run
    assert "127.0.0.1:9" not in result.stdout + result.stderr
    assert DEMO_KEY not in result.stdout + result.stderr
    assert not (home / ".config" / "mlflow").exists()  # MLflow's telemetry stays off


@pytest.mark.skipif(os.geteuid() != 0, reason="the model runs as nobody only under root")
def test_demo_as_root_names_a_temporary_folder_nobody_can_enter(tmp_path):
    """pytest's temporary folders are root's alone: the model's process could not reach its
    copy of the model there, and the message says so and what to do, before it starts."""
    result = run_cli("demo", cwd=tmp_path, env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"nobody cannot enter the temporary folder {tmp_path}" in result.stderr
    assert "set TMPDIR to a folder every user can enter" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # the registry and the model's folder are gone


def test_demo_steps_run_in_the_order_of_their_numbers(tmp_path):
    for name in ("10-last", "2-second", "1-first", "notes"):
        (tmp_path / name).mkdir()
        if name != "notes":
            (tmp_path / name / "hokusai.yaml").write_text("version: 1\n")
    assert [f.name for f in step_folders(tmp_path)] == ["1-first", "2-second", "10-last"]


def test_a_broken_demo_history_is_our_bug_and_says_which_step(tmp_path):
    (tmp_path / "1-broken").mkdir()
    (tmp_path / "1-broken" / "hokusai.yaml").write_text("version: 1\nmodel: {}\n")
    with pytest.raises(HokusaiError, match="step 1-broken is broken: ") as caught:
        load_steps(tmp_path)
    assert caught.value.exit_code == 3


def test_a_temporary_folder_a_sqlite_url_cannot_carry_is_refused(tmp_path):
    odd = tmp_path / "q?x"
    odd.mkdir()
    result = run_cli("demo", cwd=tmp_path, env={"TMPDIR": str(odd)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "holds `?`, which a SQLite URL cannot carry" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q?x"]  # no database at `q`
    assert list(odd.iterdir()) == []


def test_sigterm_ends_the_demo_without_leaving_its_registry(tmp_path):
    with subprocess.Popen(
        [*CLI, "demo"],
        cwd=tmp_path,
        env=cli_environment({"TMPDIR": str(tmp_path)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as demo:
        assert demo.stderr is not None
        assert demo.stderr.readline().startswith("registry: ")  # the folder exists from here
        assert list(tmp_path.glob("hokusai-demo-*"))
        demo.send_signal(signal.SIGTERM)
        demo.communicate(timeout=60)
    assert demo.returncode == 128 + signal.SIGTERM
    assert list(tmp_path.glob("hokusai-demo-*")) == []


def test_markdown_on_a_terminal_that_cannot_show_emoji_is_escaped_not_a_crash(tmp_path):
    result = subprocess.run(
        [*CLI, "demo"],
        cwd=tmp_path,
        env=cli_environment({"PYTHONIOENCODING": "cp1252"}),
        capture_output=True,
        encoding="cp1252",
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "\\U0001f195 first registration" in result.stdout
