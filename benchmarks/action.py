"""Wall time and request counts of the action's entrypoint on a pull request that changes one
model of 100.

What it measures: the container entrypoint, run as a runner runs it (the command the
Dockerfile names, a clean environment of INPUT_* and GITHUB_* variables, the workspace as the
working directory; tests/integration/test_action_entrypoint.py's `Workspace`), on a
repository of 100 manifests (the examples' churn classifier and sentiment model, and 98
copies of the churn classifier, each its own model and token). The pull request changes one
of them: the GitHub stand-in (tests/support/github_api.py, on loopback) lists its files in
pages of 100, as GitHub does. The registry is a local `mlflow server` (the one
register_vs_option_b.py starts) behind a recording proxy (tests/support/counting_proxy.py),
so every registry request is counted and can be searched for a model's name.

Two configurations, interleaved (A, B, A, B, ...) after one untimed warm-up each, with the
pull request's comments cleared before every run so each run posts what a first run posts:

    A  changed-only: true   (the default)
    B  changed-only: false  (every model compared and commented, as before)

Before timing, the changed model is registered once (a push with `manifests` set to it), so
its comparison has a baseline. A run counts only if it exits 0, and for A only if no registry
request names any of the 99 untouched models. It prints the median and minimum wall time,
the registry requests and the GitHub requests per configuration.

    .venv/bin/python benchmarks/action.py            # 3 runs per configuration
    .venv/bin/python benchmarks/action.py --runs 5 --json > result.json

Unlike the other benchmarks, this one needs the test extras (pytest-httpserver plays GitHub,
full `mlflow` provides the server), and runs from the repository root's virtualenv.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import machine  # benchmarks/machine.py, beside this script
from register_vs_option_b import mlflow_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_httpserver import HTTPServer  # noqa: E402

from tests.integration.test_action_entrypoint import (  # noqa: E402
    API_KEY,
    PUSH,
    Workspace,
    pr_event,
)
from tests.support.counting_proxy import counting_proxy  # noqa: E402
from tests.support.github_api import FakeGitHub  # noqa: E402

MODELS = 100
CHANGED = "churn-classifier"


def build(root: Path, tmp: Path) -> Workspace:
    """The examples' two manifests and 98 copies of the churn classifier."""
    ws = Workspace(root, tmp)
    source = root / "churn-classifier"
    name = ws.names["churn-classifier"]
    token = re.search(r"token_id: (\S+)", (source / "hokusai.yaml").read_text()).group(1)  # type: ignore[union-attr]
    for i in range(MODELS - len(ws.names)):
        copy = root / f"model-{i:03d}"
        shutil.copytree(source, copy)
        manifest = copy / "hokusai.yaml"
        text = manifest.read_text()
        manifest.write_text(
            text.replace(name, f"{name}-{i:03d}").replace(token, f"{token}-{i:03d}")
        )
        ws.names[copy.name] = f"{name}-{i:03d}"
    return ws


def one_run(ws: Workspace, github: FakeGitHub, proxy: Any, changed_only: bool) -> dict[str, Any]:
    github.comments.clear()
    github.server.clear_log()
    proxy.requests.clear()
    inputs = {
        "tracking-uri": proxy.url,
        "api-key": API_KEY,
        "changed-only": "true" if changed_only else "false",
    }
    start = time.perf_counter()
    run = ws.run("pull_request", pr_event(), inputs, github.url)
    seconds = time.perf_counter() - start
    if run.code != 0:
        raise SystemExit(f"the entrypoint exited {run.code}:\n{run.log[-5000:]}")
    untouched = [n for e, n in ws.names.items() if e != CHANGED]
    leaked = [n for n in untouched if proxy.mentioning(n)]
    if changed_only and leaked:
        raise SystemExit(f"registry requests for untouched models: {leaked[:5]}")
    return {
        "seconds": seconds,
        "registry_requests": len(proxy.requests),
        "registry_requests_for_untouched": len(leaked),
        "github_requests": len(github.server.log),
        "comments": len(github.comments),
    }


def bench(runs: int, tmp: Path, log: Any) -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the stand-in's request log
    (tmp / "ws").mkdir()
    (tmp / "mlflow").mkdir()
    ws = build(tmp / "ws", tmp)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        github = FakeGitHub(server, page_size=100)
        github.change(7, "README.md", f"{CHANGED}/hokusai.yaml")
        with mlflow_server(tmp / "mlflow") as uri, counting_proxy(uri) as proxy:
            baseline = ws.run(
                "push",
                PUSH,
                {"tracking-uri": uri, "api-key": API_KEY, "manifests": f"{CHANGED}/hokusai.yaml"},
            )
            if baseline.code != 0:
                raise SystemExit(f"registering the baseline failed:\n{baseline.log[-5000:]}")
            ws.set_value(CHANGED, 0.95)
            results: dict[str, list[dict[str, Any]]] = {"changed-only": [], "every model": []}
            for changed_only in (True, False):  # warm-up
                one_run(ws, github, proxy, changed_only)
            for i in range(runs):
                for label, changed_only in (("changed-only", True), ("every model", False)):
                    r = one_run(ws, github, proxy, changed_only)
                    results[label].append(r)
                    print(f"run {i + 1}/{runs} {label}: {r['seconds']:.2f} s", file=log)
    finally:
        server.clear()
        if server.is_running():
            server.stop()
    summary = {}
    for label, rs in results.items():
        times = [r["seconds"] for r in rs]
        summary[label] = {
            "median_s": statistics.median(times),
            "min_s": min(times),
            **{k: rs[-1][k] for k in rs[-1] if k != "seconds"},
        }
    return summary


def report(env: dict[str, Any], summary: dict[str, Any], runs: int) -> str:
    lines = [f"{k}: {v}" for k, v in env.items()]
    lines += [
        "",
        f"pull request changing 1 model of {MODELS}, {runs} runs each after a warm-up",
        "",
        "| configuration | median wall time | min | registry requests | GitHub requests "
        "| comments |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, s in summary.items():
        lines.append(
            f"| {label} | {s['median_s']:.2f} s | {s['min_s']:.2f} s | {s['registry_requests']} "
            f"| {s['github_requests']} | {s['comments']} |"
        )
    a, b = summary["changed-only"], summary["every model"]
    lines += [
        "",
        f"changed-only / every model (median): {a['median_s'] / b['median_s']:.2f}x; "
        f"registry requests naming an untouched model with changed-only: "
        f"{a['registry_requests_for_untouched']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    env = {
        **machine.facts(),
        "hokusai-action": importlib.metadata.version("hokusai-action"),
        "mlflow": importlib.metadata.version("mlflow"),
    }
    with tempfile.TemporaryDirectory(prefix="hokusai-bench-action-") as tmp:
        summary = bench(args.runs, Path(tmp), sys.stderr)
    if args.json:
        print(json.dumps({"environment": env, "results": summary}, indent=2))
    else:
        print(report(env, summary, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
