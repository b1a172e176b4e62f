"""Sufficient gradient statistics that every gate decides from.

For each regularized tensor ``W_l`` with loss gradient ``g_L`` (what ``loss.backward()`` left in ``.grad``)
and penalty gradient ``g_R = lam * d`` (``d = sign(W)`` for L1, ``d = W`` for L2) we keep five sums:

    loss_l1   = S1 = sum |g_L|        loss_sq = S2 = sum g_L**2
    pen_l1    = R1 = sum |g_R|        pen_sq  = R2 = sum g_R**2
    dot       = X  = sum g_L * g_R

Global statistics are sums over tensors, so any gate can run per layer or globally on the same numbers.
All reductions run on the tensors' device and come back to the host in one transfer per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

__all__ = ["GradStats", "compute_grad_stats"]


@dataclass(frozen=True)
class GradStats:
    """Per-tensor gradient statistics of one training step (arrays of shape ``(n_tensors,)``, float64)."""

    step: int
    epoch: int
    numel: np.ndarray
    loss_l1: np.ndarray
    loss_sq: np.ndarray
    pen_l1: np.ndarray
    pen_sq: np.ndarray
    dot: np.ndarray

    @property
    def n_tensors(self) -> int:
        return int(self.numel.shape[0])

    def total(self) -> "GradStats":
        """The global statistics: every sum over all tensors, as arrays of shape ``(1,)``."""

        def s(a: np.ndarray) -> np.ndarray:
            return np.asarray([a.sum()], dtype=np.float64)

        return GradStats(self.step, self.epoch, s(self.numel), s(self.loss_l1), s(self.loss_sq),
                         s(self.pen_l1), s(self.pen_sq), s(self.dot))

    def coherence(self) -> np.ndarray:
        """``cos(g_L, g_L + g_R)``; NaN where the loss gradient is zero (no direction to compare with)."""
        loss_norm = np.sqrt(self.loss_sq)
        total_sq = np.maximum(self.loss_sq + 2.0 * self.dot + self.pen_sq, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = (self.loss_sq + self.dot) / (loss_norm * np.sqrt(total_sq))
        # a zero combined update is harmless: count it as coherent
        cos = np.where(total_sq == 0.0, 1.0, cos)
        return np.where(loss_norm <= 1e-12, np.nan, cos)

    def dominance_ratio(self) -> np.ndarray:
        """``||g_R||_1 / ||g_L||_1``, the penalty-to-loss gradient ratio (inf where the loss gradient is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.loss_l1 > 0, self.pen_l1 / np.where(self.loss_l1 > 0, self.loss_l1, 1.0),
                            np.inf)

    def mean_abs_loss_grad(self) -> np.ndarray:
        """``mean |g_L|`` per tensor, the paper's vanishing-gradient statistic."""
        return self.loss_l1 / np.maximum(self.numel, 1.0)


@torch.no_grad()
def compute_grad_stats(grads: Sequence[torch.Tensor], directions: Sequence[torch.Tensor],
                       lams: Sequence[float], *, step: int, epoch: int,
                       sign_directions: bool = False, with_l1: bool = True) -> GradStats:
    """Statistics of loss gradients ``grads`` against penalty gradients ``lams[i] * directions[i]``.

    ``sign_directions=True`` says every direction entry is -1, 0 or 1 (L1), so ``sum |d| = ||d||^2`` and one
    reduction is saved. ``with_l1=False`` skips the 1-norms (``loss_l1`` and ``pen_l1`` become NaN) for gates
    that read only 2-norms and the cross term. The 2-norms are one fused ``_foreach_norm`` call per list, the
    cross term one BLAS dot per tensor, the 1-norms an abs-sum per tensor (``_foreach_norm`` with ord 1 is
    several times slower on CPU); everything reaches the host in a single transfer.
    """
    n = len(grads)
    if n == 0:
        empty = np.zeros(0, dtype=np.float64)
        return GradStats(step, epoch, empty, empty, empty, empty, empty, empty)
    # 2-norms in one fused call per list; only the cross term needs a dot product per tensor
    loss_norm = torch._foreach_norm(grads, 2)
    dir_norm = torch._foreach_norm(directions, 2)
    dots = [torch.dot(g.reshape(-1), d.reshape(-1)) for g, d in zip(grads, directions)]
    parts = [*loss_norm, *dir_norm, *dots]
    if with_l1:
        parts += [g.abs().sum() for g in grads]
        if not sign_directions:
            parts += [d.abs().sum() for d in directions]
    host = torch.stack(parts).to("cpu", torch.float64).numpy().reshape(-1, n)
    loss_sq, dir_sq, cross = host[0] ** 2, host[1] ** 2, host[2]
    if with_l1:
        loss_l1 = host[3]
        dir_l1 = dir_sq if sign_directions else host[4]
    else:
        loss_l1 = dir_l1 = np.full(n, np.nan)
    lam = np.asarray(lams, dtype=np.float64)
    numel = np.asarray([g.numel() for g in grads], dtype=np.float64)
    return GradStats(step=step, epoch=epoch, numel=numel, loss_l1=loss_l1, loss_sq=loss_sq,
                     pen_l1=lam * dir_l1, pen_sq=lam * lam * dir_sq, dot=lam * cross)
