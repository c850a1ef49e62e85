"""Which manifests a pull request touches: pure path arithmetic, repository-relative paths
from GitHub against manifest-relative paths from the manifest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from hokusai_action.github.changed import is_touched, split_touched, watched_paths

MANIFEST = "models/churn/hokusai.yaml"
REFS = ["model", "reports/metrics.json", "../../data/holdout.csv"]


@pytest.mark.parametrize(
    "changed",
    [
        ["models/churn/hokusai.yaml"],  # the manifest itself
        ["models/churn/model/model.pkl"],  # under model.path
        ["models/churn/model/deep/er/weights.bin"],
        ["models/churn/reports/metrics.json"],  # the value_from file
        ["data/holdout.csv"],  # the dataset, outside the manifest's directory
        ["README.md", "./models/churn/model/x"],  # one of several, written with ./
    ],
)
def test_a_change_to_the_manifest_or_what_it_references_touches_it(changed):
    assert is_touched(MANIFEST, REFS, changed)


@pytest.mark.parametrize(
    "changed",
    [
        [],
        ["README.md"],
        ["models/churn/model-old/x"],  # a sibling sharing the prefix, not under model/
        ["models/churn/reports/other.json"],  # next to the metrics file, not it
        ["models/house/hokusai.yaml"],
        ["models/churn/hokusai.yml"],
        ["../models/churn/hokusai.yaml"],  # outside the repository: never a match
    ],
)
def test_a_change_elsewhere_does_not_touch_it(changed):
    assert not is_touched(MANIFEST, REFS, changed)


def test_a_model_path_of_dot_is_the_manifests_whole_directory():
    assert is_touched(MANIFEST, ["."], ["models/churn/anything/at/all"])
    assert not is_touched(MANIFEST, ["."], ["models/house/x"])


def test_a_manifest_at_the_root_resolves_its_paths_from_the_root():
    assert is_touched("hokusai.yaml", ["models/churn"], ["models/churn/model.pkl"])
    assert not is_touched("hokusai.yaml", ["models/churn"], ["models/house/model.pkl"])


def test_references_that_leave_the_repository_or_are_not_text_are_ignored():
    assert watched_paths(MANIFEST, ["../../../etc", None, 3, "", "model"]) == [
        MANIFEST,
        "models/churn/model",
    ]


@dataclass
class Fake:
    path: str
    data: dict[str, Any]

    def get(self, *path: str) -> Any:
        node: Any = self.data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        return node


def test_split_keeps_order_and_reads_model_value_from_and_dataset_paths():
    a = Fake("a/hokusai.yaml", {"model": {"path": "m"}})
    b = Fake("b/hokusai.yaml", {"benchmark": {"value_from": {"file": "out/metrics.json"}}})
    c = Fake("c/hokusai.yaml", {"benchmark": {"dataset": {"path": "../shared/data.csv"}}})
    d = Fake("d/hokusai.yaml", {"model": {"path": "m"}})
    changed = ["b/out/metrics.json", "shared/data.csv", "a/m/weights"]
    touched, untouched = split_touched([a, b, c, d], changed, lambda m: m.path)
    assert touched == [a, b, c]
    assert untouched == [d]


def test_a_rename_counts_under_its_old_name():
    # The client lists a renamed file under both names; moving a model's file away touches it.
    assert is_touched(MANIFEST, REFS, ["elsewhere/model.pkl", "models/churn/model/model.pkl"])
