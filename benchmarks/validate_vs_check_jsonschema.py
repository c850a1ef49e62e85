"""Wall time of `hokusai-action validate` against `check-jsonschema` on the same manifests.

What it measures: the end-to-end wall time of one process of each tool, start-up included,
as a user or the pre-commit hook sees it:

    hokusai-action validate FILE...
    check-jsonschema --schemafile schemas/hokusai.schema.json FILE...

on two workloads, 1 manifest and 200 manifests. The manifests are generated into a temporary
directory (`m000/hokusai.yaml`, `m001/hokusai.yaml`, ...), modelled on `examples/`: varied
names, token IDs, metrics, `value_from` metrics files, contributions and A/B tests, with the
model files and metrics files they point at created, so every manifest is valid and nothing
is missing. Both tools get the same explicit list of file paths. Before timing, the script
checks that both exit 0 and that `hokusai-action validate --strict` finds no problem at all,
and stops with their output otherwise.

Both tools run with a private bytecode cache: PYTHONPYCACHEPREFIX points into a temporary
directory and PYTHONDONTWRITEBYTECODE is removed. An installed tool has its `.pyc` files,
but an editable checkout under PYTHONDONTWRITEBYTECODE=1 has none, and would recompile its
own modules on every run; the private cache treats both tools alike whatever the caller's
environment says, and writes nothing into the checkout. `--keep-env` runs the tools with
the caller's environment unchanged instead.
Each tool runs once to warm up (bytecode cache, page cache), then the two run alternately
(A, B, A, B, ...) for `--runs` runs each, so that background load drifts over both alike.
It prints the median and the minimum per tool and the ratio of the medians, ours / theirs.

Run it from the repository root with the project's virtualenv:

    .venv/bin/python benchmarks/validate_vs_check_jsonschema.py
    .venv/bin/python benchmarks/validate_vs_check_jsonschema.py --runs 30 --json > result.json

The executables are looked up next to `sys.executable` unless `--hokusai` or
`--check-jsonschema` names them. The script itself uses the standard library only.

Target: ours <= 0.3x check-jsonschema (ratio of medians) on both workloads, while checking
more than it does: besides the schema, `hokusai-action validate` applies semantic rules the
schema cannot express (metric ranges, EIP-55 checksums, traffic splits summing to 1, model
paths that exist and stay inside the repository, one token per model name across files).
Read the ratio, not the absolute seconds: those depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import machine  # benchmarks/machine.py, beside this script

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "schemas" / "hokusai.schema.json"
WORKLOADS = (1, 200)
SEED = 20240601

# Valid EIP-55 checksummed addresses (the test vectors of the EIP); lower-case addresses,
# which carry no checksum, are generated as well.
CHECKSUMMED_ADDRESSES = (
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
)
DOMAINS = (
    "churn",
    "fraud",
    "credit",
    "house-price",
    "demand",
    "sentiment",
    "toxicity",
    "intent",
    "ranking",
    "image",
)
TEAMS = ("data-science-team", "risk-team", "pricing-team", "nlp-team", "search-team")
METHODS = ("active_learning", "data_augmentation", "hyperparameter_tuning", "distillation")


# -- manifests ----------------------------------------------------------------------------
def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def _classifier(i: int, rnd: random.Random, directory: Path) -> str:
    """Like examples/churn-classifier: an MLflow model directory, inline benchmark value."""
    domain = DOMAINS[i % len(DOMAINS)]
    _write(
        directory / "models" / domain / "MLmodel",
        "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
        "    model_path: model.pkl\n  sklearn:\n    pickled_model: model.pkl\n",
    )
    _write(directory / "models" / domain / "model.pkl", rnd.randbytes(rnd.randint(64, 4096)))
    accuracy = round(rnd.uniform(0.7, 0.99), 4)
    return f"""\
# Generated benchmark manifest {i:03d}: a classifier with an MLflow model directory.
version: 1
model:
  name: {domain}-classifier-{i:03d}
  token_id: {domain.upper()}-{i:03d}
  path: models/{domain}
  flavor: {rnd.choice(["sklearn", "xgboost", "lightgbm"])}
  version: {rnd.randint(0, 4)}.{rnd.randint(0, 12)}.{rnd.randint(0, 30)}
  description: Gradient-boosted {domain} classifier, build {i}, on 12 months of activity.
benchmark:
  metric: accuracy
  value: {accuracy}
  dataset: {{name: {domain}-holdout, version: v{rnd.randint(1, 9)}.{rnd.randint(0, 9)}, \
samples: {rnd.randint(500, 50000)}}}
metrics:
  f1_score: {round(rnd.uniform(0.6, 0.99), 3)}
  precision: {round(rnd.uniform(0.6, 0.99), 3)}
  recall: {round(rnd.uniform(0.6, 0.99), 3)}
  auroc: {round(rnd.uniform(0.7, 0.999), 3)}
params:
  n_estimators: {rnd.choice([50, 100, 200, 400])}
  max_depth: {rnd.randint(3, 12)}
  learning_rate: {rnd.choice([0.01, 0.05, 0.1, 0.3])}
  class_weight: balanced
tags:
  author: {rnd.choice(TEAMS)}
  use_case: {domain}_detection
"""


def _regressor(i: int, rnd: random.Random, directory: Path) -> str:
    """A single model file registered as it is (`flavor: file`), value read from a metrics file."""
    domain = DOMAINS[i % len(DOMAINS)]
    _write(directory / "models" / "regressor.onnx", rnd.randbytes(rnd.randint(256, 8192)))
    rmse = round(rnd.uniform(1000, 40000), 1)
    _write(
        directory / "reports" / "metrics.json",
        json.dumps(
            {
                "test": {"rmse": rmse, "mae": round(rmse * 0.6, 1), "r2_score": 0.87},
                "validation": {"rmse": round(rmse * 1.02, 1)},
            },
            indent=2,
        ),
    )
    return f"""\
# Generated benchmark manifest {i:03d}: a regressor judged on RMSE (lower is better).
version: 1
model:
  name: {domain}-regressor-{i:03d}
  token_id: {domain.upper()}-REG-{i:03d}
  path: models/regressor.onnx
  flavor: file  # a bare file: registered as it is (no model-not-mlflow warning)
  version: {rnd.randint(1, 5)}.{rnd.randint(0, 9)}.0
benchmark:
  metric: rmse
  value_from: {{file: reports/metrics.json, key: test.rmse}}
  dataset: {{name: {domain}-test, version: "{rnd.randint(2020, 2025)}.{rnd.randint(1, 4)}", \
samples: {rnd.randint(200, 20000)}}}
metrics:
  mae: {round(rmse * 0.6, 1)}
  r2_score: {round(rnd.uniform(0.5, 0.95), 3)}
  within_10pct: {round(rnd.uniform(0.4, 0.9), 2)}
custom_metrics:
  within_10pct:
    direction: higher
    min: 0
    max: 1
    description: share of predictions within 10% of the true value
params:
  model_type: xgboost-regressor
  n_estimators: {rnd.choice([100, 200, 400, 800])}
tags:
  author: {rnd.choice(TEAMS)}
  currency: {rnd.choice(["USD", "EUR", "JPY"])}
"""


def _contribution(i: int, rnd: random.Random, directory: Path) -> str:
    """Like examples/sentiment-improvement: a contributed improvement behind an A/B test."""
    domain = DOMAINS[i % len(DOMAINS)]
    _write(directory / "model" / f"{domain}.pt", rnd.randbytes(rnd.randint(128, 4096)))
    if rnd.random() < 0.5:
        address = rnd.choice(CHECKSUMMED_ADDRESSES)
    else:
        address = "0x" + rnd.randbytes(20).hex()
    candidate = rnd.choice([0.05, 0.1, 0.2, 0.25, 0.5])
    return f"""\
# Generated benchmark manifest {i:03d}: a contributed improvement rolled out behind an A/B test.
version: 1
model:
  name: {domain}-analyzer-{i:03d}
  token_id: {domain.upper()}-AI-{i:03d}
  path: model/{domain}.pt
  flavor: file
  version: {rnd.randint(1, 4)}.{rnd.randint(0, 9)}.{rnd.randint(0, 9)}
benchmark:
  metric: f1_score
  value: {round(rnd.uniform(0.7, 0.95), 3)}
  dataset: {{name: {domain}-reviews-test, version: v{rnd.randint(1, 9)}, \
samples: {rnd.randint(1000, 20000)}}}
metrics:
  accuracy: {round(rnd.uniform(0.7, 0.95), 3)}
  exact_match: {round(rnd.uniform(0.6, 0.9), 2)}
tags:
  author: {rnd.choice(TEAMS)}
  language: {rnd.choice(["en", "de", "ja", "fr"])}
  reviewed: "yes"
contribution:
  contributor_address: "{address}"
  contributor: contributor-{rnd.randint(1, 999)}
  additional_samples: {rnd.randint(100, 20000)}
  improvement_method: {rnd.choice(METHODS)}
ab_test:
  test_id: {domain}-v{i}-test
  traffic_split: {{baseline: {1 - candidate:g}, candidate: {candidate:g}}}
  duration_hours: {rnd.choice([12, 24, 48, 72])}
"""


KINDS = (_classifier, _regressor, _contribution)


def generate(directory: Path, count: int) -> list[str]:
    """`count` valid manifests below `directory`; their paths relative to it."""
    rnd = random.Random(SEED)
    files = []
    for i in range(count):
        sub = directory / f"m{i:03d}"
        text = KINDS[i % len(KINDS)](i, rnd, sub)
        _write(sub / "hokusai.yaml", text)
        files.append(f"m{i:03d}/hokusai.yaml")
    return files


# -- running ------------------------------------------------------------------------------
def _find(name: str, option: str, override: str | None) -> str:
    if override:
        found = shutil.which(override)
        if not found:
            sys.exit(f"error: {option} {override}: not an executable")
        return found
    candidate = Path(sys.executable).parent / name
    if not candidate.exists():
        sys.exit(f"error: {name} not found next to {sys.executable}; pass {option} PATH")
    return str(candidate)


def child_env(pycache: Path | None) -> dict[str, str]:
    """The tools' environment: the caller's, with a private bytecode cache unless None."""
    env = dict(os.environ)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _run(
    command: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def _must_pass(label: str, done: subprocess.CompletedProcess[str]) -> None:
    if done.returncode != 0:
        sys.stderr.write(
            f"error: {label} exited {done.returncode} on the generated valid manifests\n"
            f"command: {' '.join(done.args)}\n--- stdout ---\n{done.stdout}\n"
            f"--- stderr ---\n{done.stderr}\n"
        )
        sys.exit(1)


def _version(executable: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [executable, "--version"], env=env, capture_output=True, text=True, check=False
    )
    return (done.stdout or done.stderr).strip()


def _summary(times: list[float]) -> dict[str, Any]:
    return {"median_s": statistics.median(times), "min_s": min(times), "times_s": times}


def bench_workload(
    count: int, commands: dict[str, list[str]], runs: int, env: dict[str, str], log: Any
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hokusai-bench-") as tmp:
        directory = Path(tmp)
        files = generate(directory, count)

        # Untimed: ours must find no problem at all, not even a warning.
        _, done = _run([*commands["ours"], "--strict", "--format", "json", *files], directory, env)
        _must_pass("hokusai-action validate --strict", done)

        times: dict[str, list[float]] = {name: [] for name in commands}
        for name, command in commands.items():  # warm-up, checked
            _, done = _run([*command, *files], directory, env)
            _must_pass(name, done)
        print(f"timing {count} manifest(s): {runs} runs per tool ...", file=log, flush=True)
        for _ in range(runs):
            for name, command in commands.items():
                elapsed, done = _run([*command, *files], directory, env)
                _must_pass(name, done)
                times[name].append(elapsed)

    result: dict[str, Any] = {"manifests": count, "runs": runs}
    for name in commands:
        result[name] = _summary(times[name])
    result["ratio_ours_over_theirs"] = result["ours"]["median_s"] / result["theirs"]["median_s"]
    return result


def environment(hokusai: str, check_jsonschema: str, env: dict[str, str]) -> dict[str, Any]:
    return {
        **machine.facts(),
        "hokusai_action": _version(hokusai, env),
        "check_jsonschema": _version(check_jsonschema, env),
        "bytecode_cache": (
            "private (PYTHONPYCACHEPREFIX in a temporary directory)"
            if env.get("PYTHONPYCACHEPREFIX") != os.environ.get("PYTHONPYCACHEPREFIX")
            else "caller's environment, PYTHONDONTWRITEBYTECODE="
            + env.get("PYTHONDONTWRITEBYTECODE", "(unset)")
        ),
        "hokusai_command": f"{hokusai} validate FILE...",
        "check_jsonschema_command": f"{check_jsonschema} --schemafile {SCHEMA} FILE...",
    }


def report(env: dict[str, Any], results: list[dict[str, Any]], target: float) -> str:
    lines = [
        f"date:             {env['date']}",
        f"python:           {env['python']}",
        f"platform:         {env['platform']}",
        f"cpus:             {env['cpu_count']} (usable: {env['cpus_usable']})",
        f"ours:             {env['hokusai_action']}",
        f"theirs:           {env['check_jsonschema']}",
        f"bytecode cache:   {env['bytecode_cache']}",
        "",
        f"{'workload':<15}{'tool':<18}{'median s':>10}{'min s':>10}",
    ]
    for r in results:
        label = f"{r['manifests']} manifest{'s' if r['manifests'] != 1 else ''}"
        for name, tool in (("ours", "hokusai-action"), ("theirs", "check-jsonschema")):
            lines.append(
                f"{label:<15}{tool:<18}{r[name]['median_s']:>10.4f}{r[name]['min_s']:>10.4f}"
            )
            label = ""
        ratio = r["ratio_ours_over_theirs"]
        verdict = "meets" if ratio <= target else "MISSES"
        lines.append(f"{'':<15}ratio ours/theirs (medians): {ratio:.2f}x  ({verdict} <= {target}x)")
    lines.append(f"\n{results[0]['runs']} interleaved runs per tool after one warm-up each.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per tool (default 15)")
    parser.add_argument("--hokusai", help="hokusai-action executable [next to sys.executable]")
    parser.add_argument(
        "--check-jsonschema", help="check-jsonschema executable [next to sys.executable]"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the results as JSON instead of a table"
    )
    parser.add_argument(
        "--keep-env",
        action="store_true",
        help="run the tools in the caller's environment, without a private bytecode cache",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    hokusai = _find("hokusai-action", "--hokusai", args.hokusai)
    check_jsonschema = _find("check-jsonschema", "--check-jsonschema", args.check_jsonschema)
    commands = {
        "ours": [hokusai, "validate"],
        "theirs": [check_jsonschema, "--schemafile", str(SCHEMA)],
    }
    target = 0.3
    with tempfile.TemporaryDirectory(prefix="hokusai-bench-pycache-") as pycache:
        tool_env = child_env(None if args.keep_env else Path(pycache))
        env = environment(hokusai, check_jsonschema, tool_env)
        results = [bench_workload(n, commands, args.runs, tool_env, sys.stderr) for n in WORKLOADS]

    if args.json:
        json.dump({"environment": env, "target_ratio": target, "workloads": results}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(report(env, results, target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
