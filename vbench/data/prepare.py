"""`vbench data prepare` / `vbench data info`: convert an original download once, under the data root.

Prepared so far: `mnist` (the t10k IDX files for the `smmnist` suite), checked against the
canonical MD5s and stored decompressed. The readers of KTH, BAIR and Cityscapes are the next step;
until they land, preparing them says so instead of writing something half-done.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from vbench.data import default_data_root
from vbench.errors import VBenchError

MNIST_FILES = {"t10k-images-idx3-ubyte": "MNIST_T10K_IMAGES_MD5", "t10k-labels-idx1-ubyte": "MNIST_T10K_LABELS_MD5"}
NOT_YET = ("kth", "bair", "cityscapes")


def _root(data_root: str | Path | None) -> Path:
    return Path(data_root).expanduser() if data_root else default_data_root()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_mnist(source: Path, target: Path) -> str:
    from vbench.data import mnist
    folder = source if source.is_dir() else source.parent
    written = []
    for name, md5_name in MNIST_FILES.items():
        candidates = [folder / name, folder / f"{name}.gz"]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            if name.startswith("t10k-labels"):
                continue   # labels are optional: the generator uses images only
            raise VBenchError(f"mnist: no {name} or {name}.gz in {folder}")
        try:
            mnist.verify_md5(found, getattr(mnist, md5_name))
            data = mnist._read_maybe_gzip(found)
        except (ValueError, OSError) as exc:
            raise VBenchError(f"mnist: {exc}") from None
        _write_atomically(target / name, data)
        written.append(name)
    mnist.load_idx_digits(target / "t10k-images-idx3-ubyte")   # readable as digits, or an error now
    _write_atomically(target / "manifest.json", json.dumps(
        {"dataset": "mnist", "source": str(source), "files": written}, indent=2).encode())
    return f"prepared mnist ({', '.join(written)}) in {target}"


def prepare(name: str, source: Path, data_root: str | Path | None = None) -> str:
    if not source.exists():
        raise VBenchError(f"--source {source}: no such file or folder")
    if name == "mnist":
        return prepare_mnist(source, _root(data_root) / "mnist")
    if name in NOT_YET:
        raise VBenchError(f"preparing '{name}' is not available in this vbench version yet "
                          "(its reader is the next step of the datasets work)")
    raise VBenchError(f"unknown dataset '{name}'; known: mnist, {', '.join(NOT_YET)}")


def dataset_info(name: str, data_root: str | Path | None = None) -> str:
    folder = _root(data_root) / name
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return f"{name}: not prepared under {folder.parent}"
    return f"{name}: prepared in {folder}\n{manifest.read_text()}"
