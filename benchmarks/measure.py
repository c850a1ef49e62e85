"""Wall time and peak memory of `hokusai-action compare` measuring a model, against a bare script.

What it measures, one process (tree) per run, start-up included:

    A  hokusai-action compare .        (the manifest names data and a target: the value is measured)
    B  python bare.py MODEL DATA       (source in BARE below: what a model owner would write)

B imports mlflow.sklearn and pandas, loads the model, reads the CSV and computes predict_proba
and roc_auc_score: the least work that gives the same number. A does what measuring takes on
top: it reads and hashes the data in its own process, hands the features to a child process
that loads the model (as `nobody` under root), scores the predictions with scikit-learn, and
judges the verdict against the registered baseline.

The data: `--rows` rows (default 200,000) of 20 numeric features and a 0/1 label column `y`,
written as CSV by a setup step; a scikit-learn LogisticRegression trained on 20,000 other rows
and saved with `mlflow.sklearn.save_model` (cloudpickle). A baseline version (the same model
with C=0.1) is registered first with `hokusai-action register` into the embedded registry of
a scratch repository, so `compare` has a benchmark of record (`measurement: required`) and a
version to judge against. Both sides must print the same AUROC (to 1e-9), or the script stops.

Memory, for each run:
- **tree peak**: the largest sum of the resident set sizes (VmRSS) of the process and all its
  descendants, sampled from /proc every 10 ms: what the machine must hold at once (for A, the
  parent and the model's process together). Sampling can miss a peak shorter than 10 ms.
- **largest process**: `ru_maxrss` of os.wait4 on the process, the kernel's exact high-water
  mark of the largest single process of the tree (the process itself or a reaped descendant).

Each tool runs once to warm up (the disk cache holds the CSV for both), then they alternate
(A, B, A, B, ...) for `--runs` runs each. It prints the medians and the ratios A / B.

    .venv/bin/python benchmarks/measure.py                    # 200,000 rows, 3 runs per tool
    .venv/bin/python benchmarks/measure.py --rows 1000000 --runs 2 --json > result.json

Run it from the repository root with the project's virtualenv (the `measure` and `registry`
extras). The script itself uses the standard library only. Linux only (/proc, wait4).

Target: A at most 1.5x B in wall time and in tree peak memory (ratio of medians).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import machine  # benchmarks/machine.py, beside this script

BIN = Path(sys.executable).parent
TARGET = 1.5
FEATURES = 20
SAMPLE_EVERY = 0.01  # seconds between /proc samples

# Run once, untimed: the data and the two models (the baseline, and the one compared).
SETUP = """\
import sys
import numpy as np
import pandas as pd
import mlflow.sklearn
from sklearn.linear_model import LogisticRegression

rows, features, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(15)
weights = rng.normal(0, 1, features)

def draw(n):
    x = rng.normal(0, 1, (n, features)).round(6)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ weights) * 0.5))).astype(int)
    return pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(features)]), y

train_x, train_y = draw(20_000)
for name, c in (("baseline", 0.1), ("candidate", 1.0)):
    model = LogisticRegression(C=c, max_iter=1000).fit(train_x, train_y)
    mlflow.sklearn.save_model(
        model, f"{folder}/{name}",
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )
x, y = draw(rows)
x.assign(y=y).to_csv(f"{folder}/data.csv", index=False)
"""

# The bare script: the least that computes the same AUROC.
BARE = """\
import sys

import mlflow.sklearn
import pandas as pd
from sklearn.metrics import roc_auc_score

model = mlflow.sklearn.load_model(sys.argv[1])
data = pd.read_csv(sys.argv[2])
y = data.pop("y")
print(repr(float(roc_auc_score(y, model.predict_proba(data)[:, 1]))))
"""

MANIFEST = """\
version: 1
model:
  name: bench-measured
  token_id: BENCH-MEASURE
  path: {model}
  flavor: sklearn
benchmark:
  metric: auroc
  dataset: {{name: bench-data, path: data.csv, target: y}}
"""


# -- one run ------------------------------------------------------------------------------
def _tree_rss(root: int) -> int:
    """Bytes resident in `root` and its descendants now (VmRSS of each, from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with Path(f"/proc/{entry.name}/stat").open("rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    total = 0
    for pid in tree:
        try:
            with Path(f"/proc/{pid}/status").open(encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def run(command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Wall time, tree peak and largest-process peak of one process, and its output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        peak = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(SAMPLE_EVERY)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "wall_s": wall, "tree_peak_mb": peak / 1e6,
            "largest_process_mb": usage.ru_maxrss / 1e3, "code": process.returncode,
            "stdout": out.read().decode(), "stderr": err.read().decode(),
        }  # fmt: skip


def _must_pass(label: str, done: dict[str, Any]) -> None:
    if done["code"] != 0:
        sys.stderr.write(
            f"error: {label} exited {done['code']}\n--- stdout ---\n{done['stdout'][-3000:]}\n"
            f"--- stderr ---\n{done['stderr'][-5000:]}\n"
        )
        sys.exit(1)


# -- the benchmark ------------------------------------------------------------------------
def prepare(rows: int, repo: Path, env: dict[str, str], log: Any) -> None:
    print(f"setup: {rows:,} rows x {FEATURES} features, two models ...", file=log, flush=True)
    repo.mkdir()
    (repo / ".git").mkdir()  # the repository root: the embedded registry goes there
    setup = run([sys.executable, "-c", SETUP, str(rows), str(FEATURES), str(repo)], repo, env)
    _must_pass("the setup", setup)
    (repo / "hokusai.yaml").write_text(MANIFEST.format(model="baseline"), encoding="utf-8")
    first = run([str(BIN / "hokusai-action"), "register", "."], repo, env)
    _must_pass("hokusai-action register (the baseline)", first)
    (repo / "hokusai.yaml").write_text(MANIFEST.format(model="candidate"), encoding="utf-8")


def bench(runs: int, repo: Path, env: dict[str, str], log: Any) -> dict[str, Any]:
    bare = repo.parent / "bare.py"
    bare.write_text(BARE, encoding="utf-8")
    commands = {
        "hokusai": [str(BIN / "hokusai-action"), "compare", ".", "--format", "json"],
        "bare": [sys.executable, str(bare), str(repo / "candidate"), str(repo / "data.csv")],
    }
    values: dict[str, float] = {}

    def once(name: str) -> dict[str, Any]:
        done = run(commands[name], repo, env)
        _must_pass(name, done)
        if name == "bare":
            values[name] = float(done["stdout"].strip())
        else:
            (result,) = json.loads(done["stdout"])["results"]
            if result["measured"] is None:
                sys.exit(f"error: compare did not measure:\n{done['stdout'][-3000:]}")
            values[name] = result["measured"]["values"]["auroc"]
        return done

    for name in commands:  # warm-up, checked
        once(name)
    if abs(values["hokusai"] - values["bare"]) > 1e-9:
        sys.exit(f"error: the two sides disagree: {values}")
    print(f"timing: {runs} interleaved runs per tool ...", file=log, flush=True)
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name in commands:
            samples[name].append(once(name))

    result: dict[str, Any] = {"runs": runs, "auroc": values["bare"]}
    for name, done in samples.items():
        result[name] = {
            key: statistics.median(d[key] for d in done)
            for key in ("wall_s", "tree_peak_mb", "largest_process_mb")
        } | {"wall_s_all": [round(d["wall_s"], 3) for d in done]}
    result["ratios"] = {
        key: result["hokusai"][key] / result["bare"][key]
        for key in ("wall_s", "tree_peak_mb", "largest_process_mb")
    }
    return result


def environment() -> dict[str, Any]:
    versions = {}
    for package in ("hokusai-action", "mlflow-skinny", "scikit-learn", "pandas"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {**machine.facts(), **versions}


def report(env: dict[str, Any], rows: int, size: int, r: dict[str, Any]) -> str:
    labels = (("hokusai", "A hokusai-action compare"), ("bare", "B bare script"))
    lines = [
        f"date:          {env['date']}",
        f"python:        {env['python']}",
        f"platform:      {env['platform']}",
        f"cpus:          {env['cpu_count']} (usable: {env['cpus_usable']})",
        f"packages:      mlflow-skinny {env['mlflow-skinny']}, scikit-learn "
        f"{env['scikit-learn']}, pandas {env['pandas']}, hokusai-action {env['hokusai-action']}",
        f"data:          {rows:,} rows x {FEATURES} features, CSV {size / 1e6:.1f} MB; "
        f"AUROC {r['auroc']:.6f} on both sides",
        "",
        f"{'tool':<28}{'wall s':>9}{'tree peak MB':>14}{'largest proc MB':>17}",
        *(
            f"{label:<28}{r[name]['wall_s']:>9.2f}{r[name]['tree_peak_mb']:>14.0f}"
            f"{r[name]['largest_process_mb']:>17.0f}"
            for name, label in labels
        ),
    ]
    for key, what in (("wall_s", "wall time"), ("tree_peak_mb", "tree peak"),
                      ("largest_process_mb", "largest process")):  # fmt: skip
        ratio = r["ratios"][key]
        verdict = "" if key == "largest_process_mb" else (
            f"  ({'meets' if ratio <= TARGET else 'MISSES'} <= {TARGET}x)")  # fmt: skip
        lines.append(f"ratio A/B, {what + ':':<17}{ratio:.2f}x{verdict}")
    lines.append(f"\nmedians of {r['runs']} interleaved runs per tool after one warm-up each.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows of data (200,000)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (default 3)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rows < 100:
        parser.error("--runs must be at least 1 and --rows at least 100")
    if not (BIN / "hokusai-action").exists():
        sys.exit(f"error: hokusai-action not found next to {sys.executable}")

    with tempfile.TemporaryDirectory(prefix="hokusai-bench-measure-") as tmp_name:
        tmp = Path(tmp_name)
        env = machine.tool_environment(tmp)
        repo = tmp / "repo"
        prepare(args.rows, repo, env, sys.stderr)
        size = (repo / "data.csv").stat().st_size
        result = bench(args.runs, repo, env, sys.stderr)

    info = environment()
    if args.json:
        json.dump({"environment": info, "rows": args.rows, "csv_bytes": size,
                   "target_ratio": TARGET, **result}, sys.stdout)  # fmt: skip
        sys.stdout.write("\n")
    else:
        print(report(info, args.rows, size, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
