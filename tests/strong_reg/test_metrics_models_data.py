"""Metrics on known tensors, models' shapes, and the data loaders on tiny files in the real formats."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import scipy.io
import scipy.sparse
import torch
from torch import nn

from quartet.strong_reg.data import (ImageData, load_dataset, read_cifar, read_svhn, standardize,
                                     synthetic_cifar)
from quartet.strong_reg.metrics import accuracy, is_collapsed, sparsity_report, tolerance_level
from quartet.strong_reg.models import MLP, VGG, AlexNet, build_model
from quartet.strong_reg.regularizer import StrongRegularizer

torch.set_num_threads(1)


# -- metrics ----------------------------------------------------------------------------------------------------
def test_sparsity_and_compression_on_known_tensor():
    w = torch.zeros(10, 10)
    w[0, :5] = 1.0           # 5 kept of 100
    w[1, 0] = 5e-4           # below theta=1e-3, above 1e-4
    rep = sparsity_report([("w", w)], theta=1e-3)
    assert rep.n_kept == 5 and rep.sparsity == pytest.approx(0.95)
    assert rep.compression == pytest.approx(20.0)
    assert sparsity_report([w], theta=1e-4).n_kept == 6
    # CSR bytes match scipy's storage of the same pruned matrix (float32 values, int32 indices)
    pruned = np.where(np.abs(w.numpy()) >= 1e-3, w.numpy(), 0).astype(np.float32)
    csr = scipy.sparse.csr_matrix(pruned)
    scipy_bytes = csr.data.nbytes + csr.indices.astype(np.int32).nbytes + csr.indptr.astype(np.int32).nbytes
    assert rep.csr_bytes == scipy_bytes
    assert rep.csr_compression == pytest.approx(400 / scipy_bytes)


def test_compression_of_all_zero_tensor_is_infinite():
    rep = sparsity_report([torch.zeros(3, 3)])
    assert rep.sparsity == 1.0 and math.isinf(rep.compression)


def test_collapse_flag_and_tolerance_level():
    assert is_collapsed(0.10, 0.998, 10)
    assert not is_collapsed(0.10, 0.5, 10)                         # at chance but weights alive: not this failure
    assert is_collapsed(0.10, 0.8, 10, train_loss=2.30)            # short run, loss stuck at ln 10
    assert not is_collapsed(0.95, 0.999, 10)
    assert tolerance_level([1e-3, 3e-4, 3e-3], [[True, True], [False, False], [True, False]]) == 1e-3
    assert tolerance_level([1e-4], [[False]]) is None
    with pytest.raises(ValueError, match="collapsed"):
        tolerance_level([1e-3], [])


def test_absorbing_state_zero_weights_give_zero_loss_gradient():
    torch.manual_seed(0)
    model = MLP((1, 8, 8), 10, depth=3, width=16, bias=False)
    for p in model.parameters():
        nn.init.zeros_(p)
    nn.functional.cross_entropy(model(torch.randn(32, 1, 8, 8)), torch.randint(0, 10, (32,))).backward()
    for p in model.parameters():
        assert torch.count_nonzero(p.grad) == 0


def test_accuracy_restores_training_mode():
    model = VGG.small((1, 8, 8), 10)
    model.train()
    x, y = torch.randn(20, 1, 8, 8), torch.randint(0, 10, (20,))
    acc = accuracy(model, x, y, batch_size=7)
    assert 0.0 <= acc <= 1.0 and model.training
    model.eval()
    assert acc == pytest.approx(float((model(x).argmax(1) == y).float().mean()))


# -- models -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("name", ["mlp", "vgg", "vgg9", "alexnet"])
def test_models_accept_every_input_size(name, shape):
    model = build_model(name, shape, 10, depth=2, width=32)
    assert model(torch.randn(2, *shape)).shape == (2, 10)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def test_reference_cnn_has_the_reference_weight_count():
    reg = StrongRegularizer(VGG.small((1, 8, 8), 10), lam=1e-3)
    assert sum(p.numel() for p in reg.params) == 98_848
    reg = StrongRegularizer(MLP((1, 8, 8), 10, depth=6, width=256), lam=1e-3)
    assert sum(p.numel() for p in reg.params) == 346_624
    # vgg9 at 28x28: 9 * (1*32 + 32*32 + 32*64 + 64*64 + 64*128 + 128*128) conv + 1152*256 + 256*256 + 256*10 FC
    reg = StrongRegularizer(VGG.vgg9((1, 28, 28), 10), lam=1e-3)
    assert sum(p.numel() for p in reg.params) == 9 * 31_776 + 1152 * 256 + 256 * 256 + 2560
    # --width sets the two FC layers of vgg9 (and leaves the small VGG's head alone)
    reg = StrongRegularizer(build_model("vgg9", (1, 28, 28), 10, width=1024), lam=1e-3)
    assert sum(p.numel() for p in reg.params) == 9 * 31_776 + 1152 * 1024 + 1024 * 1024 + 10_240
    assert build_model("vgg", (1, 8, 8), 10, width=1024).classifier[0].out_features == 128


def test_vgg16_builds_for_cifar():
    model = VGG.vgg16((3, 32, 32), 100)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(15.3e6, rel=0.01)
    assert isinstance(AlexNet(), nn.Module)


@pytest.mark.parametrize("factory, name", [
    (lambda: MLP(depth=-1), "depth"),
    (lambda: VGG(config="vgg99"), "config"),
    (lambda: VGG(input_shape=(8, 8)), "input_shape"),
    (lambda: AlexNet(dropout=1.0), "dropout"),
    (lambda: build_model("resnet", (1, 8, 8), 10), "model"),
])
def test_bad_model_arguments(factory, name):
    with pytest.raises(ValueError, match=name):
        factory()


# -- data -------------------------------------------------------------------------------------------------------
def test_synthetic_cifar_shapes_determinism_and_class_balance():
    x, y = synthetic_cifar(400, seed=3)
    assert x.shape == (400, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    x2, y2 = synthetic_cifar(400, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(synthetic_cifar(10, seed=4)[0], x[:10])
    # colour does not reveal the class: mean colour per class stays close to the overall mean
    means = np.stack([x[y == c].mean(axis=(0, 2, 3)) for c in range(10)])
    assert np.abs(means - x.mean(axis=(0, 2, 3))).max() < 25


def test_synthetic_cifar_registered_in_common_registry():
    from quartet.common.data import get_dataset

    ds = get_dataset("synthetic-cifar")
    assert ds.kind == "synthetic"
    x, y = ds.load(5, seed=1)
    assert x.shape == (5, 3, 32, 32)


def test_cifar10_and_cifar100_readers_on_tiny_pickles(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        with open(tmp_path / f"data_batch_{i}", "wb") as fh:
            pickle.dump({b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [i % 10] * 4}, fh)
    test_data = rng.integers(0, 256, (3, 3072), dtype=np.uint8)
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump({b"data": test_data, b"labels": [1, 2, 3]}, fh)
    xtr, ytr, xte, yte = read_cifar(tmp_path)
    assert xtr.shape == (20, 3, 32, 32) and ytr.tolist() == [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4
    assert np.array_equal(xte[0, 0].reshape(-1), test_data[0, :1024])  # R plane first
    c100 = tmp_path / "c100"
    c100.mkdir()
    for split in ("train", "test"):
        with open(c100 / split, "wb") as fh:
            pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [99, 7],
                         b"coarse_labels": [1, 2]}, fh)
    assert read_cifar(c100, classes=100)[1].tolist() == [99, 7]
    with pytest.raises(ValueError, match="root"):
        read_cifar(c100, classes=10)


def test_svhn_reader_transposes_and_maps_label_10_to_0(tmp_path):
    x = np.arange(32 * 32 * 3 * 2, dtype=np.uint8).reshape(32, 32, 3, 2)
    for split in ("train", "test"):
        scipy.io.savemat(tmp_path / f"{split}_32x32.mat", {"X": x, "y": np.array([[10], [3]])})
    xtr, ytr, _, _ = read_svhn(tmp_path)
    assert xtr.shape == (2, 3, 32, 32) and ytr.tolist() == [0, 3]
    assert xtr[1, 2, 5, 7] == x[5, 7, 2, 1]


def test_digits_split_and_standardization():
    d = load_dataset("digits")
    assert isinstance(d, ImageData) and d.input_shape == (1, 8, 8)
    assert len(d.y_train) == 1297 and len(d.y_test) == 500
    assert d.x_train.mean().abs() < 1e-4
    from quartet.common.data import load_digits

    _, y = load_digits()
    expected = 500 * np.bincount(y) / len(y)
    assert np.abs(np.bincount(d.y_test.numpy()) - expected).max() <= 1.0   # stratified


def test_standardize_uses_training_statistics_only():
    xtr = np.array([[[[0.0]]], [[[2.0]]]])
    xte = np.array([[[[4.0]]]])
    a, b = standardize(xtr, xte, per_pixel=True)
    assert a.ravel().tolist() == [-1.0, 1.0] and b.ravel().tolist() == [3.0]


def test_fashion_mnist_subsample_when_available():
    from quartet.common.data import DatasetUnavailable

    try:
        d = load_dataset("fashion-mnist", n_train=500, n_test=200, seed=1)
    except DatasetUnavailable as exc:
        pytest.skip(f"Fashion-MNIST not installed: {exc}")
    assert d.input_shape == (1, 28, 28) and len(d.y_train) == 500 and len(d.y_test) == 200
    assert np.bincount(d.y_train.numpy()).tolist() == [50] * 10


@pytest.mark.parametrize("kwargs, name", [
    ({"name": "mnist"}, "data"),
    ({"name": "cifar10"}, "root"),
    ({"name": "digits", "n_train": 3}, "n_train"),
])
def test_bad_data_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        load_dataset(**kwargs)
