"""The README's "own model in five minutes", run top to bottom as shown (the helpers and the
other pages' commands: test_doc_commands.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.acceptance.test_doc_commands import (
    ACTIVATE,
    FIVE_MINUTES,
    RUN_ID,
    run_shell,
    shell_lines,
)


def test_the_readme_own_model_in_five_minutes_runs_as_shown(tmp_path: Path):
    (train,) = [b for b in re.findall(r"```python\n(.*?)```", FIVE_MINUTES, re.S) if "argv" in b]
    (tmp_path / "train.py").write_text(train, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    outputs = []
    for line in shell_lines(FIVE_MINUTES):
        if line == ACTIVATE:
            continue
        result = run_shell(line, tmp_path)
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        outputs.append((line, result.stdout))
    registered = next(out for line, out in outputs if line == "hokusai-action register my-model")
    (shown,) = [b for b in re.findall(r"```text\n(.*?)```", FIVE_MINUTES, re.S) if "load it" in b]
    database = f"sqlite:///{(tmp_path / '.hokusai' / 'mlflow.db').as_posix()}"

    def same(text: str) -> list[str]:
        text = RUN_ID.sub("RUN", text.replace(database, "DB"))
        text = re.sub(r"\b[0-9a-f]{64}\b", "SHA", text)
        return [line for line in text.splitlines() if not line.startswith("  note:")]

    assert same(registered) == same(
        shown.replace("sqlite:////home/you/project/.hokusai/mlflow.db", "DB")
    )
    loaded = next(out for line, out in outputs if line.startswith("MLFLOW_TRACKING_URI="))
    assert "flavor: mlflow.sklearn" in loaded
    promoted = next(out for line, out in outputs if "promote" in line)
    assert "promoted `my-churn-model` version 2 to @champion (was version 1)" in promoted
    assert "0.853 vs baseline 0.802" in outputs[-3][1]  # the second registration: a DeltaOne
    assert "+5.10 pp -> DeltaOne achieved" in outputs[-3][1]
