"""Image classification data for the strong-regularization experiments, as float tensors ``(N, C, H, W)``.

* ``digits`` - scikit-learn's 8x8 digits (1,797, real), stratified 1,297 / 500 split (seed 0), standardized
  per pixel on the training split (the reference setup).
* ``fashion-mnist`` - Zalando's 28x28 Fashion-MNIST (60k / 10k, real) from the shared registry.
* ``synthetic-cifar`` - a CIFAR-shaped generator (3x32x32, 10 classes: 5 shapes x plain/striped fill,
  colours carry no class information). Synthetic: label every result as such.
* ``cifar10`` / ``cifar100`` / ``svhn`` - the real files, only from a folder the user gives (never downloaded).

:func:`load_dataset` returns a :class:`ImageData`; pixel standardization is fitted on the training split.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from quartet.common.validation import check_choice, check_int, fail

__all__ = ["ImageData", "load_dataset", "DATASETS", "synthetic_cifar", "read_cifar", "read_svhn",
           "standardize"]

DATASETS = ("digits", "fashion-mnist", "synthetic-cifar", "cifar10", "cifar100", "svhn")


@dataclass
class ImageData:
    """A train/test split of images ``(N, C, H, W)`` float32 and labels int64."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    synthetic: bool = False

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "n_train": len(self.y_train), "n_test": len(self.y_test),
                "input_shape": list(self.input_shape), "num_classes": self.num_classes,
                "synthetic": self.synthetic}


def standardize(x_train: np.ndarray, x_test: np.ndarray, *, per_pixel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Zero mean, unit variance with statistics from the training split (per pixel, or per channel)."""
    x_train = x_train.astype(np.float32)
    x_test = x_test.astype(np.float32)
    axes = 0 if per_pixel else (0, 2, 3)
    mu = x_train.mean(axis=axes, keepdims=True)
    sd = x_train.std(axis=axes, keepdims=True)
    sd[sd == 0] = 1.0  # constant border pixels
    return (x_train - mu) / sd, (x_test - mu) / sd


def _subsample(x: np.ndarray, y: np.ndarray, n: int | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A stratified random subset of size ``n`` (all of it when ``n`` is None or not smaller)."""
    if n is None or n >= len(y):
        return x, y
    classes = np.unique(y)
    idx = []
    for c in classes:
        members = np.flatnonzero(y == c)
        take = int(round(n * len(members) / len(y)))
        idx.append(rng.choice(members, size=min(take, len(members)), replace=False))
    sel = np.sort(np.concatenate(idx))
    return x[sel], y[sel]


# -- synthetic CIFAR ---------------------------------------------------------------------------------------------
def synthetic_cifar(n: int, seed: int = 0, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``n`` CIFAR-shaped images ``(n, 3, size, size)`` uint8 and labels ``(n,)`` int64 in 0..9.

    Class ``c`` = shape ``c % 5`` (disc, square, triangle, bar, X-cross) x fill (plain for ``c < 5``, striped
    otherwise), at a random centre, size and rotation; random foreground colour with a contrasting, class-free
    background; a random sinusoidal texture and Gaussian noise. Colour alone cannot reveal the class.
    """
    n = check_int("n", n, min=0)
    size = check_int("size", size, min=4)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    centre = rng.uniform(0.3, 0.7, size=(n, 2))
    radius = rng.uniform(0.15, 0.3, size=n)
    angle = rng.uniform(0.0, np.pi, size=n)
    fg = rng.uniform(0.0, 1.0, size=(n, 3))
    bg = np.clip(1.0 - fg + rng.normal(0.0, 0.15, size=(n, 3)), 0.0, 1.0)
    freq = rng.uniform(3.0, 20.0, size=(n, 2))
    phase = rng.uniform(0.0, 2 * np.pi, size=n)
    noise = rng.normal(0.0, 0.05, size=(n, 3, size, size))

    grid = (np.arange(size) + 0.5) / size
    gy, gx = np.meshgrid(grid, grid, indexing="ij")              # (size, size)
    dx = gx[None] - centre[:, 0, None, None]
    dy = gy[None] - centre[:, 1, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u = cos * dx + sin * dy
    v = -sin * dx + cos * dy
    r = radius[:, None, None]
    shape = (labels % 5)[:, None, None]
    masks = np.stack([
        u ** 2 + v ** 2 < r ** 2,                                         # disc
        (np.abs(u) < r) & (np.abs(v) < r),                                # square
        (v > -r) & (np.abs(u) < (r - v) / 2),                             # triangle
        (np.abs(u) < r) & (np.abs(v) < r / 3),                            # bar
        (np.abs(np.abs(u) - np.abs(v)) < r / 4) & (np.abs(u) < r),        # X-cross
    ])                                                                    # (5, n, size, size)
    mask = np.take_along_axis(masks, shape[None], axis=0)[0]
    striped = (labels >= 5)[:, None, None]
    mask = mask & (~striped | (np.sin(40.0 * u) > 0))
    img = np.where(mask[:, None], fg[:, :, None, None], bg[:, :, None, None])
    texture = 0.08 * np.sin(2 * np.pi * (freq[:, 0, None, None] * gx[None] + freq[:, 1, None, None] * gy[None])
                            + phase[:, None, None])
    img = np.clip(img + texture[:, None] + noise, 0.0, 1.0)
    return (img * 255).round().astype(np.uint8), labels.astype(np.int64)


# -- real CIFAR / SVHN files ----------------------------------------------------------------------------------
def _unpickle(path: Path) -> dict:
    with open(path, "rb") as fh:
        return pickle.load(fh, encoding="bytes")


def read_cifar(root: str | Path, *, classes: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10 (``data_batch_1..5``, ``test_batch``) or CIFAR-100 (``train``, ``test``) python pickles
    from ``root`` -> ``x_train (N,3,32,32) uint8, y_train, x_test, y_test``."""
    classes = check_choice("classes", classes, (10, 100))
    root = Path(root)
    if classes == 10:
        train_files = [root / f"data_batch_{i}" for i in range(1, 6)]
        test_files, key = [root / "test_batch"], b"labels"
    else:
        train_files, test_files, key = [root / "train"], [root / "test"], b"fine_labels"
    missing = [str(p) for p in train_files + test_files if not p.is_file()]
    if missing:
        fail("root", str(root), f"must hold the CIFAR-{classes} python files; missing {missing}")

    def read(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
        parts = [_unpickle(p) for p in files]
        x = np.concatenate([np.asarray(d[b"data"], dtype=np.uint8) for d in parts]).reshape(-1, 3, 32, 32)
        y = np.concatenate([np.asarray(d[key], dtype=np.int64) for d in parts])
        return x, y

    return (*read(train_files), *read(test_files))


def read_svhn(root: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SVHN ``train_32x32.mat`` / ``test_32x32.mat`` from ``root``; label 10 means digit 0."""
    from scipy.io import loadmat

    root = Path(root)
    out = []
    for split in ("train", "test"):
        path = root / f"{split}_32x32.mat"
        if not path.is_file():
            fail("root", str(root), f"must hold the SVHN file {path.name}")
        mat = loadmat(path)
        x = np.ascontiguousarray(np.transpose(mat["X"], (3, 2, 0, 1))).astype(np.uint8)
        y = np.asarray(mat["y"]).reshape(-1).astype(np.int64)
        out += [x, np.where(y == 10, 0, y)]
    return tuple(out)  # type: ignore[return-value]


# -- the one entry point ---------------------------------------------------------------------------------------
def load_dataset(name: str, *, root: str | Path | None = None, n_train: int | None = None,
                 n_test: int | None = None, seed: int = 0) -> ImageData:
    """Load ``name`` (one of :data:`DATASETS`) as standardized float tensors.

    ``n_train`` / ``n_test`` take stratified random subsets (seeded by ``seed``) for fast runs; for
    ``synthetic-cifar`` they are the numbers of images generated (default 10,000 / 2,000). ``root`` is the
    folder holding the real CIFAR/SVHN files.
    """
    name = check_choice("data", name, DATASETS)
    if n_train is not None:
        n_train = check_int("n_train", n_train, min=10)
    if n_test is not None:
        n_test = check_int("n_test", n_test, min=10)
    rng = np.random.default_rng(seed)
    synthetic = False
    if name == "digits":
        from sklearn.model_selection import train_test_split

        from quartet.common.data import load_digits

        x, y = load_digits()
        xtr, xte, ytr, yte = train_test_split(np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64),
                                              test_size=500, stratify=y, random_state=0)
        xtr, xte = xtr.reshape(-1, 1, 8, 8), xte.reshape(-1, 1, 8, 8)
        per_pixel = True
    elif name == "fashion-mnist":
        from quartet.common.data import load_fashion_mnist

        xtr, ytr, xte, yte = load_fashion_mnist()
        xtr, xte = xtr.reshape(-1, 1, 28, 28), xte.reshape(-1, 1, 28, 28)
        per_pixel = False
    elif name == "synthetic-cifar":
        xtr, ytr = synthetic_cifar(n_train or 10_000, seed=2 * seed + 1)
        xte, yte = synthetic_cifar(n_test or 2_000, seed=2 * seed + 2)
        per_pixel, synthetic = False, True
    else:
        if root is None:
            fail("root", None, f"must name the folder holding the {name} files (they are never downloaded)")
        if name == "svhn":
            xtr, ytr, xte, yte = read_svhn(root)
        else:
            xtr, ytr, xte, yte = read_cifar(root, classes=10 if name == "cifar10" else 100)
        per_pixel = False
    ytr, yte = np.asarray(ytr, dtype=np.int64), np.asarray(yte, dtype=np.int64)
    if name != "synthetic-cifar":
        xtr, ytr = _subsample(xtr, ytr, n_train, rng)
        xte, yte = _subsample(xte, yte, n_test, rng)
    xtr, xte = standardize(xtr, xte, per_pixel=per_pixel)
    num_classes = 100 if name == "cifar100" else 10
    return ImageData(name, torch.from_numpy(np.ascontiguousarray(xtr)), torch.from_numpy(ytr),
                     torch.from_numpy(np.ascontiguousarray(xte)), torch.from_numpy(yte), num_classes, synthetic)


def _register() -> None:
    from quartet.common.data import Dataset, register_dataset

    register_dataset(Dataset(
        name="synthetic-cifar",
        description="CIFAR-shaped synthetic images (3x32x32 uint8, 10 classes: 5 shapes x plain/striped fill; "
                    "colour carries no class information). Generated, never downloaded.",
        kind="synthetic",
        sources=["generator quartet.strong_reg.data.synthetic_cifar(n, seed)"],
        load=synthetic_cifar,
        licence="Apache-2.0 (generated)",
        tags=["strong_reg", "image"],
    ))


_register()
