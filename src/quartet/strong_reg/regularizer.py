"""Strong L1/L2 regularization that plugs into any PyTorch training loop.

The penalty is kept out of autograd: after ``loss.backward()`` the ``.grad`` fields hold the loss gradient
``g_L`` alone, the regularizer computes the penalty gradient ``g_R`` analytically, asks its gate whether to
apply it, and adds it to ``.grad`` only then. The user's optimizer steps as usual::

    reg = StrongRegularizer(model, kind="l1", lam=1e-3, gate=CoherentGate(tau=0.5))
    for epoch in range(epochs):
        reg.set_epoch(epoch)
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            reg.step()            # adds lam * dOmega/dW to .grad when the gate allows
            optimizer.step()
            reg.after_step(lr)    # proximal variant only: soft-threshold, exact zeros

or wrap the optimizer once: ``opt = RegularizedOptimizer(torch.optim.SGD(...), reg)``; ``opt.step()`` then
does all three. Penalties: ``Omega_1 = sum |W|`` (subgradient ``sign(W)``, ``sign(0) = 0``) and
``Omega_2 = 1/2 sum W**2`` (gradient ``W``, the convention of PyTorch weight decay). Keep the optimizer's own
``weight_decay`` at 0, or L2 is applied twice, ungated, and to biases.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from quartet.common.validation import check_choice, check_float, check_int, fail

from .gates import CoherentGate, Gate
from .stats import PENALTY_FIELDS, STAT_FIELDS, GradStats, _grad_stats

__all__ = ["StrongRegularizer", "RegularizedOptimizer", "default_exclude", "KINDS"]

KINDS = ("l1", "l2")

ExcludeRule = Callable[[str, torch.Tensor], bool] | Sequence[str]


def default_exclude(name: str, param: torch.Tensor) -> bool:
    """Skip biases and normalization parameters: every tensor with fewer than two dimensions."""
    return param.ndim < 2 or name.endswith("bias")


def _named_params(params: nn.Module | Iterable[Any]) -> list[tuple[str, torch.Tensor]]:
    if isinstance(params, nn.Module):
        return list(params.named_parameters())
    items = list(params)
    named: list[tuple[str, torch.Tensor]] = []
    for i, item in enumerate(items):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], torch.Tensor):
            named.append((str(item[0]), item[1]))
        elif isinstance(item, torch.Tensor):
            named.append((f"param{i}", item))
        else:
            fail("params", type(item).__name__,
                 "must be an nn.Module or an iterable of tensors or (name, tensor) pairs")
    return named


def _exclusion(exclude: ExcludeRule | None) -> Callable[[str, torch.Tensor], bool]:
    if exclude is None:
        return default_exclude
    if callable(exclude):
        return exclude
    if isinstance(exclude, str):
        fail("exclude", exclude, "must be a callable (name, param) -> bool or a list of name patterns")
    patterns = list(exclude)
    return lambda name, _p: any(fnmatch.fnmatchcase(name, pat) for pat in patterns)


class StrongRegularizer:
    """Gated strong L1 or L2 penalty on a set of parameters.

    Parameters
    ----------
    params
        An ``nn.Module`` (its ``named_parameters()``), or an iterable of tensors or ``(name, tensor)`` pairs.
    kind
        ``"l1"`` (``lam * sum|W|``) or ``"l2"`` (``lam/2 * sum W**2``).
    lam
        Penalty strength ``>= 0``; a float, or a mapping ``name -> lam`` that names every regularized
        tensor (per-layer strengths).
    gate
        A :class:`~quartet.strong_reg.gates.Gate`; default ``CoherentGate(tau=0.5)`` (GCSR, reconstructed).
    exclude
        ``None`` skips biases and normalization parameters (:func:`default_exclude`); a callable
        ``(name, param) -> bool`` or a list of ``fnmatch`` name patterns replaces that rule (so ``[]``
        regularizes every trainable tensor).
    proximal
        Instead of adding ``g_R`` to the gradient, apply the penalty's proximal map in :meth:`after_step`
        (soft-thresholding for L1, which gives exact zeros; ``W / (1 + lr*lam)`` for L2). Not the paper's
        method. Under momentum ``mu`` the subgradient penalty is amplified ``1/(1-mu)`` times through the
        momentum buffer and the proximal step is not, so the same ``lam`` regularizes ~10x less at ``mu=0.9``.
    track_stats
        Compute all gradient statistics every step (``last_stats``), even those the gate does not read:
        the diagnostics of the training loop. Off by default: then only the fields the gate ``reads`` are
        computed (the rest are NaN), to keep the per-step overhead minimal.
    check_every
        Consult a statistics-reading gate only every ``k``-th step (``step_count % k == 0``) and hold its
        decision in between, skipping the statistics there (unless ``track_stats``). The default 1 decides
        every step (exact behaviour). Held steps are recorded in the gate's history; gates that read no
        statistics (always, never, delayed) decide every step anyway, since their decision costs nothing.
        A stateful gate (norm-history) then updates its running averages once per ``k`` steps.
    """

    def __init__(self, params: nn.Module | Iterable[Any], kind: str = "l1", lam: float | Mapping[str, float] = 1e-3,
                 gate: Gate | None = None, *, exclude: ExcludeRule | None = None, proximal: bool = False,
                 track_stats: bool = False, check_every: int = 1) -> None:
        self.kind = check_choice("kind", kind, KINDS)
        rule = _exclusion(exclude)
        named = [(n, p) for n, p in _named_params(params) if p.requires_grad and not rule(n, p)]
        if not named:
            fail("params", "(none left)", "must contain at least one tensor that the exclude rule keeps")
        self.names = [n for n, _ in named]
        self.params = [p for _, p in named]
        if isinstance(lam, Mapping):
            missing = [n for n in self.names if n not in lam]
            if missing:
                fail("lam", dict(lam), f"a mapping must give a value for every regularized tensor; missing {missing}")
            self.lams = [check_float(f"lam[{n!r}]", lam[n], min=0.0) for n in self.names]
        else:
            self.lams = [check_float("lam", lam, min=0.0)] * len(self.params)
        if gate is not None and not isinstance(gate, Gate):
            fail("gate", gate, "must be a quartet.strong_reg.gates.Gate instance")
        self.gate = gate if gate is not None else CoherentGate(tau=0.5)
        self.proximal = bool(proximal)
        self.track_stats = bool(track_stats)
        self.check_every = check_int("check_every", check_every, min=1)
        self.step_count = 0
        self.epoch = 0
        self.last_stats: GradStats | None = None
        self.last_on = np.zeros(len(self.params), dtype=bool)
        self._uniform_lam = len(set(self.lams)) == 1
        self._numel = np.asarray([p.numel() for p in self.params], dtype=np.float64)

    # -- the penalty -----------------------------------------------------------------------------------------
    def penalty(self) -> torch.Tensor:
        """``lam * Omega(W)`` as a differentiable scalar (for logging, or to check the analytic gradient)."""
        terms = []
        for lam, p in zip(self.lams, self.params):
            terms.append(lam * (p.abs().sum() if self.kind == "l1" else 0.5 * (p * p).sum()))
        return torch.stack(terms).sum()

    @torch.no_grad()
    def directions(self) -> list[torch.Tensor]:
        """``dOmega/dW`` for each tensor: ``sign(W)`` (L1) or ``W`` itself (L2); ``g_R = lam * direction``."""
        return self._directions()

    def _directions(self) -> list[torch.Tensor]:  # the body, for callers already under no_grad
        if self.kind == "l1":
            return list(torch._foreach_sign(self.params))
        return [p.detach() for p in self.params]

    @torch.no_grad()
    def penalty_grads(self) -> list[torch.Tensor]:
        """``g_R = lam * dOmega/dW`` for each regularized tensor (new tensors)."""
        return [lam * d for lam, d in zip(self.lams, self.directions())]

    # -- the training-loop hooks -----------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Tell epoch-based gates (DSR) which epoch the following steps belong to."""
        self.epoch = int(epoch)

    @torch.no_grad()
    def step(self) -> np.ndarray:
        """Call after ``loss.backward()`` and before ``optimizer.step()``; returns the per-tensor decisions."""
        for p in self.params:
            if p.grad is None:  # an unused parameter still feels the penalty
                p.grad = torch.zeros_like(p)
        grads = [p.grad for p in self.params]
        hold = self.gate.needs_stats and self.step_count % self.check_every != 0
        dirs: list[torch.Tensor] | None = None
        if self.track_stats or not hold:
            # only what the gate reads (each statistic is a pass over the weights); all of it when tracking
            fields = STAT_FIELDS if self.track_stats else self.gate.reads
            dirs = self._directions() if PENALTY_FIELDS & set(fields) else None
            self.last_stats = _grad_stats(grads, dirs, self.lams, step=self.step_count, epoch=self.epoch,
                                         sign_directions=self.kind == "l1", fields=fields, numel=self._numel)
        if hold:  # between checks: keep the last decision, skip the gate (and, untracked, the statistics)
            on = self.last_on.copy()
            self.gate.record(self.step_count, self.epoch, on)
        else:
            on = self.gate.decide(self.last_stats)
        self.last_on = on
        if not self.proximal and on.any():
            dirs = dirs if dirs is not None else self._directions()
            lams = self.lams
            if not on.all():  # per-layer decisions: only the tensors whose gate is on
                idx = np.flatnonzero(on)
                grads, dirs, lams = [grads[i] for i in idx], [dirs[i] for i in idx], [lams[i] for i in idx]
            if self._uniform_lam:
                torch._foreach_add_(grads, dirs, alpha=lams[0])
            else:
                torch._foreach_add_(grads, torch._foreach_mul(dirs, lams))
        self.step_count += 1
        return on

    @torch.no_grad()
    def after_step(self, lr: float | Sequence[float]) -> None:
        """Call after ``optimizer.step()``. Proximal mode only (otherwise a no-op): shrink gated tensors by
        the proximal map of ``lr * lam * Omega``. ``lr`` is one float or one per regularized tensor."""
        if not self.proximal:
            return
        lrs = [float(lr)] * len(self.params) if np.isscalar(lr) else [float(v) for v in lr]
        if len(lrs) != len(self.params):
            fail("lr", lr, f"must be a float or {len(self.params)} floats, one per regularized tensor")
        for i in np.flatnonzero(self.last_on):
            p, t = self.params[i], lrs[i] * self.lams[i]
            if self.kind == "l1":
                p.sub_(p.clamp(-t, t))  # w - clamp(w, -t, t) == sign(w) * max(|w| - t, 0), zeros exact
            else:
                p.div_(1.0 + t)

    # -- checkpointing ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lams": list(self.lams), "names": list(self.names),
                "proximal": self.proximal, "check_every": self.check_every, "step_count": self.step_count, "epoch": self.epoch,
                "last_on": self.last_on.tolist(), "gate": self.gate.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if list(state["names"]) != self.names:
            fail("state_dict", state["names"], f"must regularize the same tensors {self.names}")
        self.kind = check_choice("kind", state["kind"], KINDS)
        self.lams = [float(v) for v in state["lams"]]
        self._uniform_lam = len(set(self.lams)) == 1
        self.proximal = bool(state["proximal"])
        self.check_every = int(state.get("check_every", 1))  # absent in checkpoints from before the option
        self.step_count = int(state["step_count"])
        self.epoch = int(state["epoch"])
        self.last_on = np.asarray(state["last_on"], dtype=bool)
        self.gate.load_state_dict(state["gate"])

    def __repr__(self) -> str:
        lam = self.lams[0] if self._uniform_lam else "per-tensor"
        return (f"StrongRegularizer(kind={self.kind!r}, lam={lam}, gate={self.gate!r}, "
                f"tensors={len(self.params)}, proximal={self.proximal})")


class RegularizedOptimizer:
    """A thin wrapper: ``step()`` = ``reg.step()``, ``optimizer.step()``, ``reg.after_step(lr)``.

    Everything else (``zero_grad``, ``param_groups``, ``state_dict`` of the inner optimizer, LR schedulers
    through ``.optimizer``) is the wrapped optimizer's.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, regularizer: StrongRegularizer) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            fail("optimizer", type(optimizer).__name__, "must be a torch.optim.Optimizer")
        for group in optimizer.param_groups:
            if group.get("weight_decay", 0):
                fail("weight_decay", group["weight_decay"],
                     "must be 0 in the wrapped optimizer (the regularizer applies the penalty)")
        self.optimizer = optimizer
        self.regularizer = regularizer
        lr_of: dict[int, int] = {}
        for gi, group in enumerate(optimizer.param_groups):
            for p in group["params"]:
                lr_of[id(p)] = gi
        self._group_of = [lr_of.get(id(p)) for p in regularizer.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def step(self) -> None:
        self.regularizer.step()
        self.optimizer.step()
        groups = self.optimizer.param_groups
        lrs = [0.0 if g is None else float(groups[g]["lr"]) for g in self._group_of]
        self.regularizer.after_step(lrs)

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "regularizer": self.regularizer.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.regularizer.load_state_dict(state["regularizer"])
