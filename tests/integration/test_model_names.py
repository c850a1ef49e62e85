"""Names that round-trip: any model name the validator accepts can be registered and found
again, against a real `mlflow server` and the embedded SQLite registry."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, note, settings
from hypothesis import strategies as st

from hokusai_action.registry.mlflow_store import MlflowRegistry
from hokusai_action.registry.plan import plan
from hokusai_action.registry.register import Decision, compare, register
from hokusai_action.registry.settings import resolve_settings
from hokusai_action.validation.checker import check_paths
from hokusai_action.validation.rules import Options
from tests.integration.conftest import Server

DECISION = Decision()
# What MLflow's filter grammar and SQL's LIKE care about, then any character at all.
TRICKY = st.sampled_from(list("'\"\\%_[]`;-*. #@\tab"))
NAMES = st.text(
    st.one_of(TRICKY, st.characters(codec="utf-8", exclude_categories=("Cs",))),
    min_size=1,
    max_size=24,
)


class Workspace:
    """A repository with one model file, whose manifest each example rewrites."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.token = f"NAMES-{uuid.uuid4().hex[:8].upper()}"
        (root / ".git").mkdir(exist_ok=True)
        (root / "model.pkl").write_bytes(b"weights")

    def manifest(self, name: str):
        """The manifest naming `name`, validated; None when the validator refuses it."""
        path = self.root / "hokusai.yaml"
        path.write_text(
            f"version: 1\nmodel:\n  name: {json.dumps(name, ensure_ascii=False)}\n"
            f"  token_id: {self.token}\n  path: model.pkl\n"
            "benchmark:\n  metric: accuracy\n  value: 0.9\n",
            encoding="utf-8",
        )
        result, manifests = check_paths([path], Options())
        return manifests[0] if result.valid and manifests else None


@pytest.fixture(params=["server", "embedded"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Workspace, MlflowRegistry]:
    ws = Workspace(tmp_path)
    if request.param == "server":
        server: Server = request.getfixturevalue("mlflow_server")
        settings_ = resolve_settings(server.uri, env={})
    else:
        settings_ = resolve_settings(None, env={}, cwd=tmp_path)
    return ws, MlflowRegistry(settings_)


# MLflow's SQLite store uses an SQLAlchemy loader option that SQLAlchemy 2.1 deprecates.
@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
@settings(
    max_examples=12,
    deadline=None,
    database=None,
    derandomize=True,  # the same names on every run: CI stays reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(name=NAMES)
@example(name="ends in a backslash \\")
@example(name="""it's "both" quotes""")
@example(name="x\\' or name LIKE '%")
@example(name="100% [draft]_v1")
@example(name="''")
@example(name=".hidden")
def test_every_name_the_validator_accepts_registers_and_is_found_again(target, name):
    ws, registry = target
    manifest = ws.manifest(name)
    assume(manifest is not None)
    note(f"name: {name!r}")
    p = plan(manifest, None)
    report = register(p, registry, DECISION)
    assert report.version is not None
    found = registry.find_version_by_key(name, p.registration_key)
    assert found is not None
    assert (found.name, found.version) == (name, report.version)
    assert report.version in [r.version for r in registry.versions_of_model(name)]
    assert (name, report.version) in [
        (r.name, r.version) for r in registry.versions_for_token(ws.token)
    ]
    again = compare(p, registry, DECISION)
    assert again.version == report.version  # found again by its registration key


def test_a_name_searched_with_like_does_not_pick_up_its_lookalikes(mlflow_server, tmp_path):
    """`it's` is searched as `it_s`, which LIKE also matches in `it_s` and `itXs`; only the
    exact name counts, so the first version of `it's` is still its first and `champion`."""
    ws = Workspace(tmp_path)
    registry = MlflowRegistry(resolve_settings(mlflow_server.uri, env={}))
    suffix = uuid.uuid4().hex[:8]
    for lookalike in (f"it_s-{suffix}", f"itXs-{suffix}"):
        manifest = ws.manifest(lookalike)
        assert manifest is not None
        register(plan(manifest, None), registry, DECISION)
    name = f"it's-{suffix}"
    manifest = ws.manifest(name)
    assert manifest is not None
    report = register(plan(manifest, None), registry, DECISION)
    assert report.aliases == ["champion"]  # the first version of this model
    assert [(r.name, r.version) for r in registry.versions_of_model(name)] == [(name, 1)]
    assert registry.aliases_of(name) == {"champion": 1}
