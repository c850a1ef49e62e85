"""examples/build_models.py as a module, for its data sets and step list (tests never call
its build functions: they need scikit-learn's exact version to write the same bytes)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.conftest import PROJECT


def load_build_models() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_models", PROJECT / "examples" / "build_models.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
