"""Wall time of `hokusai-action register` against the seed's "Option B" script, on one server.

What it measures: the end-to-end wall time of one process per registration, start-up
included, against the same local MLflow server:

    A  hokusai-action register . --tracking-uri URI   (in the manifest's directory)
    B  python option_b.py ...   (the seed's "Option B", source in OPTION_B below)

Option B is what the Hokusai seed suggests a model owner write by hand: start a run, log the
params and the benchmark metric, `mlflow.sklearn.log_model(..., registered_model_name=...)`,
then tag the new version with `hokusai_token_id`, `benchmark_metric` and `benchmark_value`.

Both register the same small scikit-learn model (a logistic regression on iris, bundled with
scikit-learn), fitted once and saved twice: with `mlflow.sklearn.save_model`, the MLflow model
directory A's manifest points at, and with `pickle`, which B loads (standing in for the model
a training script has in memory) and logs. Every run is a new registration on both sides: a
new model name per run (`bench-a-03`, `bench-b-03`) and a new benchmark value (0.90 + i *
0.0001), so A never takes its idempotent "already registered" path. A must print
"registered version" and exit 0, B must exit 0, or the script stops with their output.

The server is `mlflow server --workers 1` on a free port of 127.0.0.1 with a SQLite store and
an artifact folder in a temporary directory (MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false),
started by the script, awaited on GET /health and stopped at the end, also on error. The
tools run with a private bytecode cache (PYTHONPYCACHEPREFIX in a temporary directory, as in
validate_vs_check_jsonschema.py). Each runs once to warm up, then they alternate (A, B, A,
B, ...) for `--runs` runs each. It prints the median and minimum per tool and the ratio of
the medians, A / B.

    .venv/bin/python benchmarks/register_vs_option_b.py
    .venv/bin/python benchmarks/register_vs_option_b.py --runs 15 --json > result.json

Executables are looked up next to `sys.executable`; the script itself uses the standard
library only (MLflow and scikit-learn run in the subprocesses).

Target: ours no slower than Option B (ratio of medians <= 1). It should be well under:
A uploads the saved model directory as it is, while B re-serialises the model and infers its
pip requirements (MLflow loads the model in a child process to see what it imports). A does
more registry round trips (baseline search, experiment per model, aliases, attestation).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import machine  # benchmarks/machine.py, beside this script

BIN = Path(sys.executable).parent
TARGET = 1.0

# Run once, untimed: the model both tools register, as an MLflow model directory for A and
# as a pickle for B (loading it stands for having trained it in the same script).
SAVE_MODEL = """\
import pickle
import sys
import mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

model = LogisticRegression(C=1.0, max_iter=200).fit(*load_iris(return_X_y=True))
mlflow.sklearn.save_model(model, sys.argv[1])
with open(sys.argv[2], "wb") as f:
    pickle.dump(model, f)
"""

# The seed's "Option B", as a model owner would write it.
OPTION_B = """\
import pickle
import sys

import mlflow
from mlflow import MlflowClient

uri, name, token, value, model_file = sys.argv[1:]
with open(model_file, "rb") as f:
    model = pickle.load(f)  # the trained model, in memory in a real training script

mlflow.set_tracking_uri(uri)
with mlflow.start_run():
    mlflow.log_params({"C": 1.0, "max_iter": 200})
    mlflow.log_metric("accuracy", float(value))
    info = mlflow.sklearn.log_model(model, "model", registered_model_name=name)

client = MlflowClient()
version = info.registered_model_version
client.set_model_version_tag(name, version, "hokusai_token_id", token)
client.set_model_version_tag(name, version, "benchmark_metric", "accuracy")
client.set_model_version_tag(name, version, "benchmark_value", value)
print(f"registered version {version} of {name}")
"""

MANIFEST = """\
version: 1
model:
  name: {name}
  token_id: {token}
  path: model
  flavor: sklearn
benchmark:
  metric: accuracy
  value: {value}
params: {{C: 1.0, max_iter: 200}}
"""


# -- the server ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(workdir: Path) -> Iterator[str]:
    """A tracking server on loopback for the duration of the block; its URI."""
    port, log = _free_port(), workdir / "server.log"
    command = [
        str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--backend-store-uri", f"sqlite:///{workdir / 'db'}",
        "--artifacts-destination", str(workdir / "art"),
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=workdir, env=env, stdout=out, stderr=out)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(f"{uri}/health", timeout=2) as response,
            ):
                if response.status == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"error: mlflow server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield uri
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- running ------------------------------------------------------------------------------
def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, Any]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def _must_pass(label: str, done: Any, expect: str | None = None) -> None:
    if done.returncode != 0 or (expect is not None and expect not in done.stdout):
        sys.stderr.write(
            f"error: {label} exited {done.returncode}"
            + (f" without printing {expect!r}" if expect else "")
            + f"\ncommand: {' '.join(done.args)}\n--- stdout ---\n{done.stdout}\n"
            f"--- stderr ---\n{done.stderr[-5000:]}\n"
        )
        sys.exit(1)


def bench(runs: int, tmp: Path, uri: str, env: dict[str, str], log: Any) -> dict[str, Any]:
    repo = tmp / "repo"
    option_b = tmp / "option_b.py"
    option_b.write_text(OPTION_B, encoding="utf-8")

    def ours(i: int) -> float:
        name, value = f"bench-a-{i:02d}", f"{0.90 + i * 0.0001:.4f}"
        manifest = MANIFEST.format(name=name, token="BENCH-A", value=value)
        (repo / "hokusai.yaml").write_text(manifest, encoding="utf-8")
        command = [str(BIN / "hokusai-action"), "register", ".", "--tracking-uri", uri]
        elapsed, done = _run(command, repo, env)
        _must_pass("hokusai-action register", done, expect="registered version")
        return elapsed

    def theirs(i: int) -> float:
        name, value = f"bench-b-{i:02d}", f"{0.90 + i * 0.0001:.4f}"
        command = [
            sys.executable,
            str(option_b),
            uri,
            name,
            "BENCH-B",
            value,
            str(tmp / "model.pkl"),
        ]
        elapsed, done = _run(command, tmp, env)
        _must_pass("Option B", done)
        return elapsed

    tools = {"ours": ours, "option_b": theirs}
    for tool in tools.values():  # warm-up, checked: run 0
        tool(0)
    print(f"timing: {runs} interleaved runs per tool ...", file=log, flush=True)
    times: dict[str, list[float]] = {name: [] for name in tools}
    for i in range(1, runs + 1):
        for name, tool in tools.items():
            times[name].append(tool(i))

    result: dict[str, Any] = {"runs": runs}
    for name in tools:
        result[name] = {
            "median_s": statistics.median(times[name]),
            "min_s": min(times[name]),
            "times_s": times[name],
        }
    result["ratio_ours_over_option_b"] = result["ours"]["median_s"] / result["option_b"]["median_s"]
    return result


def environment() -> dict[str, Any]:
    versions = {}
    for package in ("hokusai-action", "mlflow", "scikit-learn"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        **machine.facts(),
        **versions,
    }


def report(env: dict[str, Any], r: dict[str, Any]) -> str:
    ratio = r["ratio_ours_over_option_b"]
    lines = [
        f"date:          {env['date']}",
        f"python:        {env['python']}",
        f"platform:      {env['platform']}",
        f"cpus:          {env['cpu_count']} (usable: {env['cpus_usable']})",
        f"mlflow:        {env['mlflow']} (scikit-learn {env['scikit-learn']})",
        f"ours:          hokusai-action {env['hokusai-action']}",
        "",
        f"{'tool':<28}{'median s':>10}{'min s':>10}",
        *(
            f"{label:<28}{r[name]['median_s']:>10.3f}{r[name]['min_s']:>10.3f}"
            for name, label in (("ours", "A hokusai-action register"), ("option_b", "B Option B"))
        ),
        f"ratio A/B (medians): {ratio:.2f}x  "
        f"({'meets' if ratio <= TARGET else 'MISSES'} <= {TARGET}x)",
        f"\n{r['runs']} interleaved runs per tool after one warm-up each, one MLflow server.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per tool (default 7)")
    parser.add_argument(
        "--json", action="store_true", help="print the results as JSON instead of a table"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    for name in ("hokusai-action", "mlflow"):
        if not (BIN / name).exists():
            sys.exit(f"error: {name} not found next to {sys.executable}")

    with tempfile.TemporaryDirectory(prefix="hokusai-bench-register-") as tmp_name:
        tmp = Path(tmp_name)
        env = machine.tool_environment(tmp)
        save = [
            sys.executable,
            "-c",
            SAVE_MODEL,
            str(tmp / "repo" / "model"),
            str(tmp / "model.pkl"),
        ]
        _must_pass("saving the model", _run(save, tmp, env)[1])
        with mlflow_server(tmp) as uri:
            result = bench(args.runs, tmp, uri, env, sys.stderr)

    info = environment()
    if args.json:
        json.dump({"environment": info, "target_ratio": TARGET, **result}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(report(info, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
