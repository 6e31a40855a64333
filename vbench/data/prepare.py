"""`vbench data prepare | info | download`: convert an original download once, under the data root.

`mnist` keeps the t10k IDX files (checked against the canonical MD5s, stored decompressed) for the
`smmnist` suite. KTH, BAIR and Cityscapes are converted by their reader modules into the prepared
form of `vbench.data.prepared` (uint8 frames plus a manifest with per-video ids and hashes).
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from pathlib import Path

from vbench.data import data_root_path
from vbench.errors import VBenchError

MNIST_FILES = {"t10k-images-idx3-ubyte": "MNIST_T10K_IMAGES_MD5", "t10k-labels-idx1-ubyte": "MNIST_T10K_LABELS_MD5"}
# name -> (module with `prepare(source, root, resolution) -> str`, default resolution or None)
PREPARERS = {
    "kth": ("vbench.data.kth", 64),
    "bair": ("vbench.data.bair", 64),
    "cityscapes": ("vbench.data.cityscapes", 128),
}

# Where users get the originals (vbench never downloads them itself).
DOWNLOADS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz (mirror of "
              "yann.lecun.com/exdb/mnist); decompressed md5 2646ac647ad5339dbf082846283269ea"],
    "bair": ["http://rail.eecs.berkeley.edu/datasets/bair_robot_pushing_dataset_v0.tar (about 30 GB; the test "
             "split is softmotion30_44k/test/traj_0_to_255.tfrecords)"],
    "kth": [f"https://www.csc.kth.se/cvap/actions/{action}.zip" for action in
            ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")]
           + ["https://www.csc.kth.se/cvap/actions/00sequences.txt"],
    "cityscapes": ["https://www.cityscapes-dataset.com/downloads/ : leftImg8bit_sequence_trainvaltest.zip "
                   "(registration required; the licence forbids redistribution)"],
}


def write_atomically(path: Path, data: bytes) -> None:
    """Write `path` through a temporary file renamed into place: an interrupted write leaves no file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)      # as a plain open() would: others may read a shared data root
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
        write_atomically(target / name, data)
        written.append(name)
    mnist.load_idx_digits(target / "t10k-images-idx3-ubyte")   # readable as digits, or an error now
    write_atomically(target / "manifest.json", json.dumps(
        {"dataset": "mnist", "source": str(source), "files": written}, indent=2).encode())
    return f"prepared mnist ({', '.join(written)}) in {target}"


def prepare(name: str, source: Path, data_root: str | Path | None = None, resolution: int | None = None) -> str:
    if not source.exists():
        raise VBenchError(f"--source {source}: no such file or folder")
    if name == "mnist":
        return prepare_mnist(source, data_root_path(data_root) / "mnist")
    if name not in PREPARERS:
        raise VBenchError(f"unknown dataset '{name}'; known: mnist, {', '.join(PREPARERS)}")
    module, default_resolution = PREPARERS[name]
    return importlib.import_module(module).prepare(source, data_root_path(data_root), resolution or default_resolution)


def download_info(name: str) -> str:
    if name not in DOWNLOADS:
        raise VBenchError(f"unknown dataset '{name}'; known: {', '.join(DOWNLOADS)}")
    lines = [f"{name}: vbench does not download datasets; fetch the original from", *[f"  {u}" for u in DOWNLOADS[name]],
             f"then run `vbench data prepare {name} --source PATH`."]
    return "\n".join(lines)


def dataset_info(name: str, data_root: str | Path | None = None) -> str:
    folder = data_root_path(data_root) / name
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return f"{name}: not prepared under {folder.parent} (see `vbench data download {name}`)"
    manifest = json.loads(manifest_path.read_text())
    lines = [f"{name}: prepared in {folder}", f"  source: {manifest.get('source')}"]
    for key, value in manifest.items():
        if key not in ("dataset", "source", "splits", "files") and not isinstance(value, (dict, list)):
            lines.append(f"  {key}: {value}")
    for split, entry in manifest.get("splits", {}).items():
        videos = entry["videos"]
        frames = sum(v["frames"] for v in videos)
        lines.append(f"  {split}: {len(videos)} videos, {frames} frames of {'x'.join(map(str, entry['frame_shape']))} "
                     "[C x H x W]")
    if "files" in manifest:
        lines.append(f"  files: {', '.join(manifest['files'])}")
    from vbench import reference
    kept = reference.describe(folder / reference.FOLDER)
    if kept:
        lines.append(f"  real-clip I3D features, kept by the first run that needed them ({folder / reference.FOLDER}):")
        lines += [f"    {line}" for line in kept]
    return "\n".join(lines)
