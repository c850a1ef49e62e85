"""The measure package loads nothing heavy until a model is measured: the pre-commit hook and
every command import the package tree, and NumPy, pandas, scikit-learn and MLflow take seconds."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_measure_package_imports_no_heavy_library():
    code = (
        "import sys\n"
        "import hokusai_action.measure, hokusai_action.measure.paired\n"
        "import hokusai_action.measure.predictions, hokusai_action.measure.scoring\n"
        "heavy = ('numpy', 'pandas', 'sklearn', 'scipy', 'mlflow')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
