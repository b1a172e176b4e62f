"""One training run: SGD with momentum on ``L + lam * Omega`` with a gated penalty, plus diagnostics.

The loop is the reference protocol: SGD momentum 0.9, lr 0.05, batch 64, learning rate x0.1 at 50% and
75% of the epochs, optimizer weight decay 0, the penalty on conv/linear weights only, added to ``.grad``
after ``backward()`` when the gate allows. Each epoch records test accuracy, sparsity, the share of steps
with the penalty on, and the failure-analysis diagnostics: per-layer ``mean |g_L|``, the penalty-to-loss
gradient ratio ``||g_R||_1 / ||g_L||_1`` and ``cos(g_L, g_L + g_R)``. Pure: no printing, no files; pass
``on_epoch`` to log as it goes.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from quartet.common.validation import check_choice, check_float, check_int

from .data import DATASETS, ImageData, load_dataset
from .gates import GATES, make_gate
from .metrics import DEFAULT_THETA, accuracy, is_collapsed, sparsity_report
from .models import MODELS, build_model
from .regularizer import StrongRegularizer

__all__ = ["TrainConfig", "TrainResult", "train", "REGS"]

REGS = ("none", "l1", "l2")
# TrainConfig field -> gate constructor parameter
GATE_FIELDS = {"tau": "tau", "gamma": "gamma", "gamma_unit": "unit", "rho": "rho", "beta": "beta",
               "warmup": "warmup", "kappa": "kappa", "scope": "scope"}


@dataclass
class TrainConfig:
    """Everything one run needs. ``reg="none"`` trains unregularized (statistics of ``g_L`` still recorded)."""

    data: str = "digits"
    model: str = "vgg"
    depth: int = 2                 # MLP hidden layers
    width: int = 256               # MLP hidden units; vgg9 FC width
    reg: str = "l1"
    lam: float = 1e-3
    gate: str = "coherent"
    tau: float = 0.5               # coherent
    gamma: int = 2                 # delayed
    gamma_unit: str = "epoch"      # delayed
    rho: float = 0.5               # norm-history
    beta: float = 0.9              # norm-history
    warmup: int = 20               # norm-history
    kappa: float = 1.0             # dominance
    scope: str = "global"
    proximal: bool = False
    epochs: int = 30
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 64
    seed: int = 0
    n_train: int | None = None
    n_test: int | None = None
    root: str | None = None
    thetas: tuple[float, ...] = (1e-3, 1e-4)
    threads: int = 1

    def validate(self) -> "TrainConfig":
        """Check every field; numbers are stored as the validators return them (``lam=0`` becomes ``0.0``), so
        configs that describe the same run hash to the same sweep cell."""
        check_choice("data", self.data, DATASETS)
        check_choice("model", self.model, MODELS)
        check_int("depth", self.depth, min=0)
        check_int("width", self.width, min=1)
        check_choice("reg", self.reg, REGS)
        self.lam = check_float("lam", self.lam, min=0.0)
        check_choice("gate", self.gate, tuple(GATES))
        check_choice("scope", self.scope, ("global", "per-layer"))
        check_int("epochs", self.epochs, min=1)
        self.lr = check_float("lr", self.lr, min=0.0, min_inclusive=False)
        self.momentum = check_float("momentum", self.momentum, min=0.0, max=1.0, max_inclusive=False)
        check_int("batch_size", self.batch_size, min=1)
        check_int("seed", self.seed, min=0)
        check_int("threads", self.threads, min=1)
        if not self.thetas:
            raise ValueError(f"invalid thetas={self.thetas!r}: must hold at least one threshold")
        self.thetas = tuple(check_float("thetas", t, min=0.0, min_inclusive=False) for t in self.thetas)
        return self

    def gate_params(self) -> dict[str, Any]:
        return {param: getattr(self, field) for field, param in GATE_FIELDS.items()}

    def label(self) -> str:
        if self.reg == "none" or self.lam == 0:
            return "none"
        return f"{self.reg} lam={self.lam:g} {self.gate}"


@dataclass
class TrainResult:
    """Final metrics and per-epoch history of one run."""

    config: TrainConfig
    test_accuracy: float
    train_loss: float
    sparsity: float                # at theta = thetas[0]
    compression: float             # 1 / (1 - sparsity); inf when every weight is below theta
    csr_compression: float
    gate_on_fraction: float        # share of last-epoch (step, tensor) decisions with the penalty on
    collapsed: bool
    num_classes: int
    layer_names: list[str]
    sparsity_by_theta: dict[str, dict[str, Any]]
    history: list[dict[str, Any]] = field(default_factory=list)
    time_s: float = 0.0
    step_time_s: float = 0.0       # median wall time of one training step

    def summary(self) -> dict[str, Any]:
        """The run's headline numbers (``summary.json``)."""
        return {"test_accuracy": self.test_accuracy, "sparsity": self.sparsity,
                "compression": None if math.isinf(self.compression) else self.compression,
                "csr_compression": self.csr_compression, "gate_on_fraction": self.gate_on_fraction,
                "gate_on_fraction_all_epochs": float(np.mean([h["on_fraction"] for h in self.history]))
                if self.history else float("nan"),
                "collapsed": self.collapsed, "train_loss": self.train_loss, "num_classes": self.num_classes,
                "label": self.config.label(), "sparsity_by_theta": self.sparsity_by_theta,
                "time_s": self.time_s, "step_time_s": self.step_time_s}

    def as_dict(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "summary": self.summary(), "layer_names": self.layer_names,
                "history": self.history}


def _epoch_diagnostics(rows: list[tuple[np.ndarray, ...]]) -> dict[str, Any]:
    """Mean over an epoch's steps of per-layer ``mean|g_L|`` and the global ratio / cosine."""
    mean_abs = np.mean([r[0] for r in rows], axis=0)
    ratio = np.mean([r[1] for r in rows])
    cos = np.nanmean([r[2] for r in rows]) if any(np.isfinite(r[2]) for r in rows) else float("nan")
    layer_ratio = np.mean([r[3] for r in rows], axis=0)
    return {"mean_abs_loss_grad": mean_abs.tolist(), "loss_grad_mean_abs": float(np.mean([r[4] for r in rows])),
            "penalty_loss_ratio": float(ratio), "coherence": float(cos),
            "layer_penalty_loss_ratio": layer_ratio.tolist()}


def train(config: TrainConfig, data: ImageData | None = None,
          on_epoch: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    """Train one model as ``config`` says and measure it. ``data`` skips loading (sweeps reuse it)."""
    config.validate()
    torch.set_num_threads(config.threads)
    if data is None:
        data = load_dataset(config.data, root=config.root, n_train=config.n_train, n_test=config.n_test,
                            seed=config.seed)
    torch.manual_seed(config.seed)
    model = build_model(config.model, data.input_shape, data.num_classes, depth=config.depth, width=config.width)
    regularized = config.reg != "none" and config.lam > 0
    gate = make_gate(config.gate if regularized else "never", **config.gate_params())
    reg = StrongRegularizer(model, kind=config.reg if regularized else "l1", lam=config.lam if regularized else 0.0,
                            gate=gate, proximal=config.proximal, track_stats=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=0.0)
    milestones = sorted({config.epochs // 2, (3 * config.epochs) // 4} - {0})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    gen = torch.Generator().manual_seed(config.seed)
    n = len(data.y_train)
    history: list[dict[str, Any]] = []
    step_times: list[float] = []
    t_start = time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        reg.set_epoch(epoch)
        order = torch.randperm(n, generator=gen)
        loss_sum, steps = 0.0, 0
        rows: list[tuple[np.ndarray, ...]] = []
        lr = optimizer.param_groups[0]["lr"]
        for i in range(0, n, config.batch_size):
            t0 = time.perf_counter()
            idx = order[i:i + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            loss.backward()
            reg.step()
            optimizer.step()
            reg.after_step(lr)
            step_times.append(time.perf_counter() - t0)
            loss_sum += loss.item()
            steps += 1
            s = reg.last_stats
            g = s.total()
            rows.append((s.mean_abs_loss_grad(), g.dominance_ratio()[0], g.coherence()[0], s.dominance_ratio(),
                         g.mean_abs_loss_grad()[0]))
        scheduler.step()
        acc = accuracy(model, data.x_test, data.y_test)
        sp = sparsity_report(zip(reg.names, reg.params), config.thetas[0])
        record = {"epoch": epoch, "lr": lr, "train_loss": loss_sum / max(steps, 1), "test_accuracy": acc,
                  # the gate's history holds every step of this epoch, held decisions too
                  "sparsity": sp.sparsity, "on_fraction": reg.gate.on_fraction(epoch=epoch),
                  **_epoch_diagnostics(rows)}
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    elapsed = time.perf_counter() - t_start
    by_theta = {f"{t:g}": sparsity_report(zip(reg.names, reg.params), t).as_dict() for t in config.thetas}
    main = sparsity_report(zip(reg.names, reg.params), config.thetas[0])
    sp_1e3 = sparsity_report(reg.params, DEFAULT_THETA).sparsity
    last = history[-1]
    return TrainResult(
        config=config, test_accuracy=last["test_accuracy"], train_loss=last["train_loss"],
        sparsity=main.sparsity, compression=main.compression, csr_compression=main.csr_compression,
        gate_on_fraction=last["on_fraction"],
        collapsed=is_collapsed(last["test_accuracy"], sp_1e3, data.num_classes, train_loss=last["train_loss"]),
        num_classes=data.num_classes,
        layer_names=list(reg.names), sparsity_by_theta=by_theta, history=history, time_s=elapsed,
        step_time_s=float(np.median(step_times)) if step_times else 0.0)
