"""Accuracy and attention-sparsity metrics of the paper, computed in fp32 or wider whatever the model dtype.

* ``row_normalized_entropy``: NE_t = -sum_s A[t,s] log A[t,s] / log(t+1) for each query row t >= 1
  (1 = uniform over the visible prefix, 0 = one-hot); row 0 sees only itself and is NaN.
* ``official_min_entropy``: the paper's aggregate, the min over rows 1..T-1, averaged over sequences.
* ``label_row_entropy``: the mean NE over the rows that predict supervised tokens.
* ``interpretability``: the share of CoT steps whose attention argmax is that step's secret bit.
* ``teacher_forced_exact_match``: every supervised token predicted correctly by argmax under teacher
  forcing, which is equivalent to greedy decoding producing the whole chain and answer.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .data import IGNORE_INDEX


def row_normalized_entropy(att: torch.Tensor) -> torch.Tensor:
    """(..., T, T) causal attention -> (..., T) normalized entropy per query row; row 0 is NaN."""
    att = att.to(torch.float64) if att.dtype == torch.float64 else att.float()
    T = att.shape[-1]
    entropy = -torch.special.xlogy(att, att).sum(dim=-1)  # 0 * log 0 = 0
    log_visible = torch.log(torch.arange(1, T + 1, dtype=att.dtype, device=att.device))  # log(t+1), per call
    out = entropy / log_visible
    out[..., 0] = math.nan
    return out


def official_min_entropy(att: torch.Tensor) -> torch.Tensor:
    """(B, H, T, T) -> (H,): min over query rows 1..T-1 of NE, then the mean over the batch."""
    ne = row_normalized_entropy(att)[..., 1:]
    return ne.min(dim=-1).values.mean(dim=0)


def label_row_entropy(att: torch.Tensor, rows: Sequence[int]) -> torch.Tensor:
    """(B, H, T, T) -> (H,): mean NE over the given query rows and the batch."""
    ne = row_normalized_entropy(att)[..., list(rows)]
    return ne.mean(dim=(0, -1))


def interpretability(att: torch.Tensor, steps: Sequence[tuple[int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, H, T, T), [(row, secret_bit), ...] -> (hit share (H,), mean attention mass on the secret bit (H,)).

    The hit share is the fraction of (sequence, step) pairs whose attention argmax over all keys of the step's
    query row equals the step's secret bit.
    """
    if not steps:
        raise ValueError("invalid steps=[]: interpretability needs at least one CoT step (layout 'none' has none)")
    rows = torch.tensor([r for r, _ in steps], device=att.device)
    bits = torch.tensor([b for _, b in steps], device=att.device)
    picked = att[:, :, rows, :].float()  # (B, H, k, T)
    hits = (picked.argmax(dim=-1) == bits).float().mean(dim=(0, 2))
    mass = picked.gather(-1, bits.view(1, 1, -1, 1).expand(*picked.shape[:3], 1)).squeeze(-1).mean(dim=(0, 2))
    return hits, mass


def supervised_predictions(logits: torch.Tensor, labels: torch.Tensor,
                           rows: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift by one: (correct (B, R) bool, supervised mask (B, R) bool).

    ``logits`` are (B, T, V) for every row, or (B, R, V) for the query ``rows`` only
    (``GPT.forward(..., positions=rows)``); row t is scored against the label at t + 1.
    """
    if rows is None:
        pred, target = logits[:, :-1].argmax(dim=-1), labels[:, 1:]
    else:
        pred, target = logits.argmax(dim=-1), labels[:, rows.start + 1 : rows.stop + 1]
    mask = target != IGNORE_INDEX
    return (pred == target) | ~mask, mask


def teacher_forced_exact_match(logits: torch.Tensor, labels: torch.Tensor, rows: slice | None = None) -> torch.Tensor:
    """(B,) bool: all supervised positions of the sequence predicted correctly (``rows``: as in
    ``supervised_predictions``; they must cover every supervised position, as ``ParityTask.loss_rows`` does)."""
    correct, _ = supervised_predictions(logits, labels, rows)
    return correct.all(dim=-1)


def answer_accuracy(logits: torch.Tensor, labels: torch.Tensor, rows: slice | None = None) -> torch.Tensor:
    """(B,) bool: the last supervised token (the answer y) predicted correctly under teacher forcing
    (``rows``: logits of these query rows only; the last of them must be row T-2)."""
    pred = logits[:, -2 if rows is None else -1].argmax(dim=-1)
    return pred == labels[:, -1]


def loss_from_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Causal-LM cross-entropy averaged over supervised tokens (token mean, as the HF Trainer)."""
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.size(-1)).float(), labels[:, 1:].reshape(-1), ignore_index=IGNORE_INDEX
    )


def loss_on_rows(row_logits: torch.Tensor, labels: torch.Tensor, rows: slice) -> torch.Tensor:
    """The same loss from logits computed only at query ``rows`` (``GPT.forward(..., positions=rows)``)."""
    targets = labels[:, rows.start + 1 : rows.stop + 1]
    return torch.nn.functional.cross_entropy(
        row_logits.reshape(-1, row_logits.size(-1)).float(), targets.reshape(-1), ignore_index=IGNORE_INDEX
    )


@torch.no_grad()
def greedy_decode(model: Callable[[torch.Tensor], torch.Tensor], prefix: torch.Tensor, steps: int) -> torch.Tensor:
    """Free-running greedy continuation of ``prefix`` (B, n) by ``steps`` tokens -> (B, n + steps).

    ``model(seq)`` returns logits (B, R, V) whose last row predicts the next token (all rows, or just the last).
    """
    seq = prefix
    for _ in range(steps):
        nxt = model(seq)[:, -1].argmax(dim=-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
    return seq
