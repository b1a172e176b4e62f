"""Accuracy, sparsity, compression and the collapse flag.

SGD with an L1 subgradient never produces exact zeros (weights oscillate around 0 with amplitude about
``lr * lam / (1 - momentum)``), so sparsity counts weights with ``|w| < theta`` (default ``theta = 1e-3``,
kept independent of ``lam``). Two compression rates are reported:

* ``compression = #w / #(|w| >= theta) = 1 / (1 - sparsity)``, the count ratio behind the paper's "9.9x";
* ``csr_compression = dense bytes / CSR bytes``: float32 values, int32 column indices and row pointers, each
  tensor stored as a ``(out, fan_in)`` matrix - what storing the pruned net in sparse matrices actually saves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from quartet.common.validation import check_float, check_int

__all__ = ["SparsityReport", "sparsity_report", "accuracy", "is_collapsed", "tolerance_level",
           "DEFAULT_THETA"]

DEFAULT_THETA = 1e-3
VALUE_BYTES = 4  # float32
INDEX_BYTES = 4  # int32


@dataclass(frozen=True)
class SparsityReport:
    """Sparsity and compression of a set of weight tensors at threshold ``theta``."""

    theta: float
    n_weights: int
    n_kept: int
    sparsity: float
    compression: float        # 1 / (1 - sparsity); inf when nothing is kept
    dense_bytes: int
    csr_bytes: int
    csr_compression: float
    per_tensor: dict[str, float]  # name -> sparsity

    def as_dict(self) -> dict[str, float | int | dict]:
        return {"theta": self.theta, "n_weights": self.n_weights, "n_kept": self.n_kept,
                "sparsity": self.sparsity, "compression": self.compression, "dense_bytes": self.dense_bytes,
                "csr_bytes": self.csr_bytes, "csr_compression": self.csr_compression,
                "per_tensor": dict(self.per_tensor)}


@torch.no_grad()
def sparsity_report(tensors: Iterable[tuple[str, torch.Tensor]] | Sequence[torch.Tensor],
                    theta: float = DEFAULT_THETA) -> SparsityReport:
    """Sparsity (share of ``|w| < theta``) and both compression rates over ``tensors``."""
    theta = check_float("theta", theta, min=0.0)
    named = [(f"t{i}", t) if isinstance(t, torch.Tensor) else t for i, t in enumerate(tensors)]
    n_weights = n_kept = dense = csr = 0
    per_tensor: dict[str, float] = {}
    for name, t in named:
        mat = t.detach().reshape(t.shape[0], -1) if t.ndim >= 1 else t.detach().reshape(1, 1)
        kept = int((mat.abs() >= theta).sum())
        n, rows = mat.numel(), mat.shape[0]
        n_weights += n
        n_kept += kept
        dense += n * VALUE_BYTES
        csr += kept * (VALUE_BYTES + INDEX_BYTES) + (rows + 1) * INDEX_BYTES
        per_tensor[name] = 1.0 - kept / n if n else 0.0
    if n_weights == 0:
        return SparsityReport(theta, 0, 0, 0.0, 1.0, 0, 0, 1.0, per_tensor)
    sparsity = 1.0 - n_kept / n_weights
    compression = n_weights / n_kept if n_kept else float("inf")
    return SparsityReport(theta, n_weights, n_kept, sparsity, compression, dense, csr, dense / csr, per_tensor)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1024) -> float:
    """Top-1 accuracy of ``model`` (switched to eval mode for the call, then restored)."""
    batch_size = check_int("batch_size", batch_size, min=1)
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    model.train(was_training)
    return correct / max(len(x), 1)


def is_collapsed(test_accuracy: float, sparsity_at_1e3: float, num_classes: int, *,
                 train_loss: float | None = None) -> bool:
    """A run collapsed when its test accuracy is at chance (``<= 1/C + 0.05``) and it fell into the absorbing
    state ``W = 0`` of the strongly regularized objective: ``>= 99%`` of the weights below ``1e-3``, or (in
    runs too short for the weights to finish shrinking) a training loss still within 5% of the uniform
    predictor's ``ln C``."""
    at_chance = test_accuracy <= 1.0 / num_classes + 0.05
    stalled = train_loss is not None and train_loss >= 0.95 * math.log(num_classes)
    return bool(at_chance and (sparsity_at_1e3 >= 0.99 or stalled))


def tolerance_level(lams: Sequence[float], collapsed: Sequence[Sequence[bool]]) -> float | None:
    """The smallest ``lam`` at which at least half of the seeds collapsed (``None`` if none did).

    ``collapsed[i]`` lists the collapse flags of the seeds run at ``lams[i]``.
    """
    if len(lams) != len(collapsed):
        raise ValueError(f"invalid collapsed (len {len(collapsed)}): must have one entry per lam ({len(lams)})")
    for lam, flags in sorted(zip(lams, collapsed), key=lambda t: t[0]):
        if len(flags) and np.mean(np.asarray(flags, dtype=float)) >= 0.5:
            return float(lam)
    return None
