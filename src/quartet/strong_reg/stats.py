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
from typing import Iterable, Sequence

import numpy as np
import torch

from quartet.common.validation import fail

__all__ = ["GradStats", "compute_grad_stats", "STAT_FIELDS", "PENALTY_FIELDS"]

#: the five per-tensor sums, in the order of :class:`GradStats`
STAT_FIELDS = ("loss_l1", "loss_sq", "pen_l1", "pen_sq", "dot")
PENALTY_FIELDS = frozenset({"pen_l1", "pen_sq", "dot"})  # the ones that read the penalty directions


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
        # one reduction over the stacked fields: a gate with global scope calls this every step
        sums = np.array([self.numel, self.loss_l1, self.loss_sq, self.pen_l1, self.pen_sq, self.dot],
                        dtype=np.float64).sum(axis=1, keepdims=True)
        return GradStats(self.step, self.epoch, *sums)

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


def compute_grad_stats(grads: Sequence[torch.Tensor], directions: Sequence[torch.Tensor] | None,
                       lams: Sequence[float], *, step: int, epoch: int, sign_directions: bool = False,
                       with_l1: bool = True, fields: Iterable[str] | None = None,
                       numel: np.ndarray | None = None) -> GradStats:
    """Statistics of loss gradients ``grads`` against penalty gradients ``lams[i] * directions[i]``.

    ``fields`` names the statistics to compute (a subset of :data:`STAT_FIELDS`; default all of them); the
    others come back as NaN, so a gate pays only for what it reads. ``with_l1=False`` drops the 1-norms
    (``loss_l1``, ``pen_l1``) from that set. ``directions`` may be ``None`` when no requested field reads the
    penalty (``loss_l1``/``loss_sq`` only). ``sign_directions=True`` says every direction entry is -1, 0 or 1
    (L1), so ``sum |d| = ||d||^2`` and one reduction is saved. ``numel`` (per-tensor sizes) may be passed
    in to save recounting them every step.

    Cost: the 2-norms are one fused ``_foreach_norm`` call over grads and directions together, the cross
    term one BLAS dot per tensor, the 1-norms an abs-sum per tensor (``_foreach_norm`` with ord 1 is several
    times slower on CPU); all requested sums reach the host in a single transfer.
    """
    with torch.no_grad():
        return _grad_stats(grads, directions, lams, step=step, epoch=epoch, sign_directions=sign_directions,
                           with_l1=with_l1, fields=fields, numel=numel)


def _grad_stats(grads: Sequence[torch.Tensor], directions: Sequence[torch.Tensor] | None,
                lams: Sequence[float], *, step: int, epoch: int, sign_directions: bool = False,
                with_l1: bool = True, fields: Iterable[str] | None = None,
                numel: np.ndarray | None = None) -> GradStats:
    """:func:`compute_grad_stats` without its ``no_grad`` context (the regularizer calls it inside its own)."""
    wanted = set(STAT_FIELDS if fields is None else fields)
    unknown = wanted - set(STAT_FIELDS)
    if unknown:
        fail("fields", sorted(unknown), f"must be a subset of {STAT_FIELDS}")
    if not with_l1:
        wanted -= {"loss_l1", "pen_l1"}
    n = len(grads)
    numel = np.asarray([g.numel() for g in grads], dtype=np.float64) if numel is None else numel
    if wanted & PENALTY_FIELDS and directions is None:
        fail("directions", None, f"are needed for the fields {sorted(wanted & PENALTY_FIELDS)}")
    # one block of n sums per reduction, in this order: each flag says whether that block is computed
    want_loss_sq = "loss_sq" in wanted
    want_dir_sq = "pen_sq" in wanted or ("pen_l1" in wanted and sign_directions)
    want_dot = "dot" in wanted
    want_loss_l1 = "loss_l1" in wanted
    want_dir_l1 = "pen_l1" in wanted and not sign_directions
    parts: list[torch.Tensor] = []
    norm_inputs = [*(grads if want_loss_sq else ()), *(directions if want_dir_sq else ())]
    if norm_inputs:
        parts += torch._foreach_norm(norm_inputs, 2)
    if want_dot:
        parts += [torch.dot(g.reshape(-1), d.reshape(-1)) for g, d in zip(grads, directions)]
    if want_loss_l1:
        parts += [g.abs().sum() for g in grads]
    if want_dir_l1:
        parts += [d.abs().sum() for d in directions]
    blocks: list[np.ndarray] = []
    if parts and n:
        # float32 -> float64 on the host is exact; squaring happens in float64 as before
        blocks = list(torch.stack(parts).to("cpu").numpy().astype(np.float64).reshape(-1, n))

    blank = np.full(n, np.nan)

    def nan() -> np.ndarray:  # a fresh array per field: a gate may keep one
        return blank.copy()

    loss_sq = blocks.pop(0) ** 2 if want_loss_sq else nan()
    dir_sq = blocks.pop(0) ** 2 if want_dir_sq else nan()
    cross = blocks.pop(0) if want_dot else nan()
    loss_l1 = blocks.pop(0) if want_loss_l1 else nan()
    if "pen_l1" in wanted:
        dir_l1 = dir_sq if sign_directions else blocks.pop(0)
    else:
        dir_l1 = nan()
    lam = np.asarray(lams, dtype=np.float64)
    return GradStats(step=step, epoch=epoch, numel=numel, loss_l1=loss_l1, loss_sq=loss_sq,
                     pen_l1=lam * dir_l1, pen_sq=lam * lam * dir_sq if "pen_sq" in wanted else nan(),
                     dot=lam * cross)
