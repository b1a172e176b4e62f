"""Data for the paper's two problems, and the offline stand-ins for the paper's data.

The paper's data cannot be had offline (Wikipedia Math Essentials for min-norm least squares, rcv1.binary
for the logistic problem), so ``--data SPEC`` selects one of:

min-norm (A, b):
- ``synthetic:ROWSxCOLS`` / ``synthetic-gaussian`` (400x730, the wiki shape): A = randn/√rows, b = A x_true
  scaled so that the min-norm solution has norm 1 (< R = 2). Stands in for the wiki data.
- ``digits``: the first 400 rows of scikit-learn's digits (400x64, rank 58, g* > 0, ill-conditioned), b = the
  digit label scaled to [0, 1]: the stress test for g-hat.
- ``diabetes-colinear``: scikit-learn's diabetes (442x10) scaled to [-1, 1] + intercept + 10 co-linear columns
  (442x21, rank 11, g* > 0), the baseline repositories' MNP recipe.
- ``mlbench:NAME``: a UCI regression set from the registry (e.g. ``mlbench:BostonHousing``, 506x27 with
  co-linear columns), the MNP recipe on real data.
- ``mat:PATH``: a MATLAB file with keys A and b (e.g. the CG-BiO repository's wikivital_mathematics.mat).

logistic (A_train, y_train, A_val, y_val):
- ``synthetic-rcv1-like`` / ``rcv1-like:ROWSxCOLS`` (default 500x2000 per split, density 1%; rcv1's 0.16%
  beyond 5000 columns): sparse,
  row-normalised tf-idf-like rows with labels from a sparse ground truth (5% flipped). Stands in for rcv1.
- ``a1a`` (or ``libsvm:PATH``): rows 0..m-1 train and m..2m-1 validation of a LIBSVM file (m = 100 < 123
  features for a1a, so the problem is over-parameterised like the paper's), from the shared data folder.
- ``heart``: LIBSVM heart_scale (135 + 135 rows x 13).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from quartet.common.data import Dataset, load_libsvm, register_dataset

__all__ = ["MinNormData", "LogisticData", "load_min_norm_data", "load_logistic_data", "gaussian_least_squares",
           "rcv1_like"]


@dataclass
class MinNormData:
    A: np.ndarray
    b: np.ndarray
    description: str
    stands_in_for: str


@dataclass
class LogisticData:
    A_train: sp.csr_matrix | np.ndarray
    y_train: np.ndarray
    A_val: sp.csr_matrix | np.ndarray
    y_val: np.ndarray
    description: str
    stands_in_for: str


def gaussian_least_squares(rows: int = 400, cols: int = 730, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A = randn(rows, cols)/√rows, b = A x_true with the min-norm solution rescaled to norm 1."""
    if rows < 1 or cols < 1:
        raise ValueError(f"invalid shape {rows}x{cols}: rows and cols must be >= 1")
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((rows, cols)) / np.sqrt(rows)
    b = A @ rng.standard_normal(cols)
    x_mn = np.linalg.lstsq(A, b, rcond=None)[0]
    return A, b / max(float(np.linalg.norm(x_mn)), 1e-300)


def rcv1_like(rows: int = 500, cols: int = 2000, density: float = 0.01, seed: int = 0, flip: float = 0.05):
    """Sparse tf-idf-like matrix (unit-norm rows) with ±1 labels from a sparse ground truth; returns (X, y)."""
    if rows < 1 or cols < 1:
        raise ValueError(f"invalid shape {rows}x{cols}: rows and cols must be >= 1")
    if not 0 < density <= 1:
        raise ValueError(f"invalid density={density!r}: must be in (0, 1]")
    rng = np.random.default_rng(seed)
    X = sp.random(rows, cols, density=density, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.uniform(0.1, 1.0, k))
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ X)
    k = max(20, cols // 10)
    w = np.zeros(cols)
    w[rng.choice(cols, k, replace=False)] = 3 * rng.standard_normal(k)
    s = np.asarray(X @ w).ravel()
    y = np.where(s > np.median(s), 1.0, -1.0)
    y[rng.random(rows) < flip] *= -1
    return X, y


def _shape(spec: str, default: tuple[int, int]) -> tuple[int, int]:
    m = re.fullmatch(r"[a-z0-9-]+(?::(\d+)x(\d+))?", spec)
    if m is None:
        raise ValueError(f"invalid data={spec!r}: the shape must be written ROWSxCOLS, e.g. synthetic:400x730")
    return (int(m.group(1)), int(m.group(2))) if m.group(1) else default


def _scale_columns(X: np.ndarray) -> np.ndarray:
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return 2 * (X - lo) / span - 1


def load_min_norm_data(spec: str = "synthetic:400x730", seed: int = 0) -> MinNormData:
    """(A, b) for the min-norm least-squares problem; see the module docstring for the specs."""
    if spec.startswith(("synthetic:", "synthetic-gaussian")) or spec == "synthetic":
        rows, cols = _shape(spec.replace("synthetic-gaussian", "synthetic"), (400, 730))
        A, b = gaussian_least_squares(rows, cols, seed)
        return MinNormData(A, b, f"synthetic Gaussian {rows}x{cols} (seed {seed})", "Wikipedia Math Essentials")
    if spec == "digits":
        from quartet.common.data import load_digits

        X, y = load_digits()
        return MinNormData(X[:400] / 16.0, y[:400] / 9.0, "scikit-learn digits, first 400 rows (400x64)",
                           "Wikipedia Math Essentials (ill-conditioned stress test)")
    if spec == "diabetes-colinear":
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        X = np.column_stack([_scale_columns(X), np.ones(X.shape[0])])
        rng = np.random.default_rng(seed)
        extra = np.column_stack([X[:, rng.choice(10, 10, replace=False)] @ rng.uniform(-1, 1, 10) for _ in range(10)])
        A = np.column_stack([X, extra])
        b = (y - y.min()) / (y.max() - y.min())
        return MinNormData(A, b, "scikit-learn diabetes + intercept + 10 co-linear columns (442x21)",
                           "YearPredictionMSD MNP of the baseline repositories")
    if spec.startswith("mlbench:"):
        return _mlbench_regression(spec[8:], seed)
    if spec.startswith("mat:"):
        from scipy.io import loadmat

        mat = loadmat(spec[4:])
        if "A" not in mat or "b" not in mat:
            raise ValueError(f"invalid data={spec!r}: the .mat file must hold arrays 'A' and 'b'")
        return MinNormData(np.asarray(mat["A"], dtype=float), np.asarray(mat["b"], dtype=float).ravel(),
                           f"user file {spec[4:]}", "(real data)")
    raise ValueError(f"invalid data={spec!r} for min-norm: must be synthetic:ROWSxCOLS, synthetic-gaussian, "
                     "digits, diabetes-colinear, mlbench:NAME or mat:PATH")


def _mlbench_regression(name: str, seed: int) -> MinNormData:
    """A UCI regression set from R's mlbench (e.g. BostonHousing): the last numeric column is b (scaled to
    [0, 1]); the other numeric columns scaled to [-1, 1], factors one-hot, an intercept, and as many co-linear
    columns as features (the baseline repositories' MNP recipe), so the system is rank-deficient."""
    import pandas as pd

    from quartet.common.data import load_mlbench

    df = load_mlbench(name)
    numeric = df.select_dtypes("number")
    if numeric.shape[1] < 2:
        raise ValueError(f"invalid data=mlbench:{name}: needs a numeric target and at least one numeric feature")
    target = numeric.columns[-1]
    y = numeric[target].to_numpy(float)
    feats = df.drop(columns=[target])
    X = pd.get_dummies(feats, drop_first=True, dtype=float).to_numpy(float)
    X = np.column_stack([_scale_columns(X), np.ones(X.shape[0])])
    rng = np.random.default_rng(seed)
    k = X.shape[1] - 1
    extra = np.column_stack([X[:, rng.choice(k, min(10, k), replace=False)] @ rng.uniform(-1, 1, min(10, k))
                             for _ in range(k)])
    A = np.column_stack([X, extra])
    b = (y - y.min()) / max(y.max() - y.min(), 1e-300)
    return MinNormData(A, b, f"mlbench {name} ({A.shape[0]}x{A.shape[1]}, target {target}, + {k} co-linear columns)",
                       "YearPredictionMSD MNP of the baseline repositories (real UCI data)")


def load_logistic_data(spec: str = "synthetic-rcv1-like", seed: int = 0, rows: int | None = None) -> LogisticData:
    """(A_train, y_train, A_val, y_val) for the logistic problem; see the module docstring for the specs."""
    if spec.startswith(("synthetic-rcv1-like", "rcv1-like")):
        r, c = _shape(spec.replace("synthetic-rcv1-like", "rcv1-like"), (500, 2000))
        density = 0.01 if c <= 5000 else 0.0016  # rcv1's own density at full width; denser when narrow
        X, y = rcv1_like(2 * r, c, density, seed)
        return LogisticData(X[:r], y[:r], X[r:], y[r:],
                            f"synthetic rcv1-like {r}+{r} rows x {c}, density {100 * density:g}%",
                            "rcv1.binary (5000+5000 rows x 47,236)")
    names = {"a1a": ("a1a.t", 100), "heart": ("heart_scale", 135)}
    if spec in names or spec.startswith("libsvm:"):
        path, default_rows = names.get(spec, (spec[7:], 100))
        X, y = load_libsvm(path)
        m = rows or default_rows
        if 2 * m > X.shape[0]:
            raise ValueError(f"invalid rows={m}: the file has {X.shape[0]} rows, need 2*rows")
        return LogisticData(X[:m], y[:m], X[m:2 * m], y[m:2 * m],
                            f"LIBSVM {path}: rows 0..{m - 1} train, {m}..{2 * m - 1} validation, {X.shape[1]} features",
                            "rcv1.binary (real, over-parameterised when rows < features)")
    raise ValueError(f"invalid data={spec!r} for logistic: must be synthetic-rcv1-like, rcv1-like:ROWSxCOLS, a1a, "
                     "heart or libsvm:PATH")


register_dataset(Dataset(
    name="synthetic-gaussian", kind="synthetic", sources=["generator"],
    description="Gaussian min-norm least squares (400x730 by default; synthetic:ROWSxCOLS), stand-in for "
                "Wikipedia Math Essentials in the FC-BiO min-norm experiment",
    load=lambda rows=400, cols=730, seed=0: gaussian_least_squares(rows, cols, seed), tags=["bilevel"]))
register_dataset(Dataset(
    name="synthetic-rcv1-like", kind="synthetic", sources=["generator"],
    description="sparse unit-norm tf-idf-like rows with ±1 labels (500+500 x 2000 by default), stand-in for "
                "rcv1.binary in the FC-BiO logistic experiment",
    load=lambda rows=1000, cols=2000, density=0.01, seed=0: rcv1_like(rows, cols, density, seed), tags=["bilevel"]))
