"""The model's process: load the model, predict on the features, write plain arrays.

Run by `sandbox.py` as `python -I -m hokusai_action.measure._child WORKDIR`, in a scrubbed
environment, as `nobody` when the parent is root. It imports nothing from hokusai_action, so
it can run under another environment's interpreter too. It loads the model first, then reads
the features the parent pickles into its stdin (trusted: the parent wrote them; an empty
stdin means they are not wanted, and it ends). The parent trusts nothing it writes:
`out/labels.npy`, and `out/proba.npy` with `out/classes.npy` when the model gives
probabilities (all saved without pickles), `out/packages.json`, or `out/error.json`
({"kind", "message", "module"}) and exit code 1.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import sys
import traceback
from pathlib import Path
from typing import Any

MESSAGE_LIMIT = 500
PACKAGES = {
    "mlflow": ("mlflow", "mlflow-skinny"),
    "scikit-learn": ("scikit-learn",),
    "numpy": ("numpy",),
    "pandas": ("pandas",),
    "onnxruntime": ("onnxruntime",),
}


class BadOutput(Exception):
    """The model's output is not one plain value per row."""


# Landlock (Linux 5.13+): the kernel's own file-access sandbox, open to unprivileged processes.
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # the same on every arch
PR_SET_NO_NEW_PRIVS = 38
RULE_PATH_BENEATH = 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
TRUNCATE = 1 << 14
READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | (1 << 15)  # IOCTL_DEV
# The rights each ABI version can handle: 13 rights in 1, REFER in 2, TRUNCATE in 3, IOCTL_DEV in 5
HANDLED = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
SYSTEM_READ = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev")
SHARED_WRITE = ("/dev/null", "/dev/shm")  # joblib's semaphores live in /dev/shm


def _confine(workdir: Path) -> str:
    """Restrict this process, before the model's code runs, to reading the system, the
    interpreter and its packages, and to its own work folder: the data's original file (the
    labels), the repository and the user's files are out of reach even when readable by all.
    The restriction is the kernel's (Landlock) and holds for every process the model starts.
    Returns what was done; where the kernel lacks Landlock, nothing is, and it says so."""
    import ctypes
    import struct
    import sysconfig

    if not sys.platform.startswith("linux"):
        return "none: Landlock is Linux's"
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:  # ENOSYS/EOPNOTSUPP: not in this kernel; EPERM: a seccomp profile forbids it
        return f"none: Landlock is unavailable here (errno {ctypes.get_errno()})"
    handled = HANDLED.get(abi, (1 << 16) - 1)
    attr = struct.pack("=Q", handled)  # handled_access_fs alone: the oldest layout, every ABI
    ruleset = libc.syscall(SYS_CREATE_RULESET, attr, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"none: Landlock refused a ruleset (errno {ctypes.get_errno()})"
    readable = {*SYSTEM_READ, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                *sysconfig.get_paths().values(), *sys.path}  # fmt: skip
    rules = [(path, READ) for path in sorted(readable) if path]
    rules += [(path, handled) for path in (*SHARED_WRITE, str(workdir))]
    try:
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # absent here
            try:
                if not Path(path).is_dir():
                    access &= FILE_RIGHTS
                rule = struct.pack("=Qi", access & handled, fd)
                if libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, rule, 0) < 0:
                    return f"none: Landlock refused a rule for {path} (errno {ctypes.get_errno()})"
            finally:
                os.close(fd)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or (
            libc.syscall(SYS_RESTRICT_SELF, ruleset, 0) != 0
        ):
            return f"none: Landlock could not be applied (errno {ctypes.get_errno()})"
    finally:
        os.close(ruleset)
    return f"landlock ABI {abi}: the model read only the system, Python and its work folder"


def _fail(out: Path, kind: str, error: BaseException, module: str | None = None) -> int:
    message = f"{type(error).__name__}: {error}"[:MESSAGE_LIMIT]
    (out / "error.json").write_text(
        json.dumps({"kind": kind, "message": message, "module": module}), encoding="utf-8"
    )
    traceback.print_exception(error, file=sys.stderr)
    return 1


def _packages() -> dict[str, str]:
    from importlib import metadata

    found = {"python": ".".join(str(v) for v in sys.version_info[:3])}
    for name, distributions in PACKAGES.items():
        for distribution in distributions:
            try:
                found[name] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return found


def _flavors(model_dir: Path) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load((model_dir / "MLmodel").read_text(encoding="utf-8"))
    flavors = data.get("flavors") if isinstance(data, dict) else None
    return flavors if isinstance(flavors, dict) else {}


# MLflow's sklearn flavor as MLflow writes it: MLmodel's `flavors.sklearn.pickled_model` names
# the file, `serialization_format` how it was written (pickle when absent).
PICKLE_FORMATS = ("pickle", "cloudpickle")


def _pickled_sklearn(model_dir: Path, conf: object) -> tuple[Path, str] | None:
    """The sklearn flavor's pickle file and format, where mlflow.sklearn.load_model would do
    nothing but unpickle it (no `code` folder to put on sys.path, no skops); None otherwise."""
    if not isinstance(conf, dict) or conf.get("code"):
        return None
    serialization = conf.get("serialization_format", "pickle")
    name = conf.get("pickled_model")
    if serialization not in PICKLE_FORMATS or not isinstance(name, str) or not name:
        return None
    path = model_dir / name
    if not path.resolve().is_relative_to(model_dir.resolve()) or not path.is_file():
        return None
    return path, serialization


def _load(model_dir: Path) -> tuple[Any, str]:
    """The sklearn flavor as itself (predict_proba and classes_ stay reachable); ONNX as its
    runtime session; anything else through mlflow.pyfunc.

    A pickled sklearn flavor is unpickled here as mlflow.sklearn.load_model does it
    (pickle.load, or cloudpickle.load), which spares this process MLflow's own import: a
    second of start-up and about 40 MB, held while our parent holds MLflow too.
    tests/integration/test_measure_ahead.py checks the two give the same model."""
    flavors = _flavors(model_dir)
    if found := _pickled_sklearn(model_dir, flavors.get("sklearn")):
        path, serialization = found
        with path.open("rb") as f:
            if serialization == "cloudpickle":
                import cloudpickle

                return cloudpickle.load(f), "sklearn"
            return pickle.load(f), "sklearn"
    if "sklearn" in flavors:
        import mlflow.sklearn  # noqa: TID251 (the model's own process: MLflow is its job)

        return mlflow.sklearn.load_model(str(model_dir)), "sklearn"
    import mlflow.pyfunc  # noqa: TID251

    model = mlflow.pyfunc.load_model(str(model_dir))
    if "onnx" in flavors:
        return model.get_raw_model(), "onnx"
    return model, "pyfunc"


def _plain(values: Any) -> Any:
    """A 1-D array of numbers, booleans or strings, or BadOutput."""
    import numpy as np
    import pandas as pd

    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise BadOutput(
                f"the model returns {values.shape[1]} columns "
                f"({', '.join(map(str, values.columns[:5]))}): "
                "measuring needs one prediction per row"
            )
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.dtype.kind == "O":
        items = array.tolist() if array.ndim == 1 else []
        if items and all(isinstance(v, str) for v in items):
            array = array.astype(str)
        elif items and all(isinstance(v, bool | int | float) for v in items):
            array = np.asarray(items)
    if array.ndim != 1 or array.dtype.kind not in "biufU":
        raise BadOutput(
            f"the model's output is not one number or string per row (shape {array.shape}, "
            f"{array.dtype})"
        )
    return array


def _onnx_feed(session: Any, features: Any) -> dict[str, Any]:
    import numpy as np

    types = {"tensor(float)": np.float32, "tensor(double)": np.float64,
             "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(string)": str,
             "tensor(bool)": bool}  # fmt: skip
    inputs = session.get_inputs()
    if len(inputs) == 1:
        return {inputs[0].name: features.to_numpy().astype(types.get(inputs[0].type, np.float32))}
    return {i.name: features[i.name].to_numpy().astype(types.get(i.type, np.float32)).reshape(-1, 1)
            for i in inputs}  # fmt: skip


def _onnx_predict(session: Any, features: Any) -> tuple[Any, Any, Any]:
    """An ONNX classifier from skl2onnx gives a label output and a probability output (a list
    of {class: p} maps when ZipMap is on, else a (rows, classes) tensor); a regressor one
    tensor of values."""
    import numpy as np

    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(names, _onnx_feed(session, features)), strict=True))
    if len(names) == 1:
        return _plain(outputs[names[0]]), None, None
    label_name = next((n for n in names if "label" in n.lower()), names[0])
    labels = _plain(outputs[label_name])
    prob_name = next((n for n in names if "prob" in n.lower()), None)
    if prob_name is None:
        return labels, None, None
    raw = outputs[prob_name]
    if isinstance(raw, list) and raw and isinstance(raw[0], dict):
        classes = np.asarray(list(raw[0]))
        proba = np.asarray([[row[c] for c in raw[0]] for row in raw], dtype=np.float64)
        return labels, proba, _plain(classes)
    proba = np.asarray(raw, dtype=np.float64)
    if (
        proba.ndim == 2
        and labels.dtype.kind in "iu"
        and labels.size
        and (labels.min() >= 0 and labels.max() < proba.shape[1])
    ):
        return labels, proba, np.arange(proba.shape[1])  # classes 0..k-1, as skl2onnx numbers them
    return labels, None, None


def _predict(model: Any, kind: str, features: Any) -> tuple[Any, Any, Any]:
    import numpy as np

    if kind == "onnx":
        return _onnx_predict(model, features)
    labels = _plain(model.predict(features))
    if kind != "sklearn" or getattr(model, "classes_", None) is None:
        return labels, None, None
    try:
        proba = model.predict_proba(features)
    except (AttributeError, NotImplementedError):  # e.g. an SVC without probability=True
        return labels, None, None
    return labels, np.asarray(proba, dtype=np.float64), _plain(model.classes_)


def main(argv: list[str]) -> int:
    workdir = Path(argv[1])
    out = workdir / "out"
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # contact nothing
    gc.disable()  # while the libraries and the model load: objects that live to the end
    try:
        import numpy as np

        packages = _packages()
        packages["confinement"] = _confine(workdir)
        (out / "packages.json").write_text(json.dumps(packages), encoding="utf-8")
    except Exception as e:
        return _fail(out, "setup_failed", e)
    try:
        model, kind = _load(workdir / "model")
    except ModuleNotFoundError as e:
        return _fail(out, "missing_module", e, e.name)
    except Exception as e:
        return _fail(out, "load_failed", e)
    gc.freeze()
    gc.enable()
    try:
        features = pickle.load(sys.stdin.buffer)  # sent by the parent once it has read the data
    except EOFError:
        return 0  # not wanted after all (the benchmark's values are claimed)
    except Exception as e:
        return _fail(out, "setup_failed", e)
    try:
        labels, proba, classes = _predict(model, kind, features)
    except BadOutput as e:
        return _fail(out, "bad_output", e)
    except ModuleNotFoundError as e:
        return _fail(out, "missing_module", e, e.name)
    except Exception as e:
        return _fail(out, "predict_failed", e)
    try:
        np.save(out / "labels.npy", labels, allow_pickle=False)
        if proba is not None and classes is not None:
            np.save(out / "proba.npy", proba, allow_pickle=False)
            np.save(out / "classes.npy", classes, allow_pickle=False)
    except ValueError as e:
        return _fail(out, "bad_output", e)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
